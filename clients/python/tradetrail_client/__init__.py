# SPDX-License-Identifier: Apache-2.0
"""tradetrail_client: the Python client of tradetrail's HTTP API, standard library only.

Client talks to `tradetrail serve` (appends with idempotency keys and retries, queries,
proofs, checkpoints, strategies, feedback); BufferedSender logs from a trading loop without
ever blocking it or losing an event; verify checks leaf hashes, inclusion proofs and signed
checkpoints offline. See clients/python/README.md."""

from .client import (ApiError, Client, Producer, TransientError, new_idempotency_key,
                     provenance, with_provenance)
from .sender import BufferedSender
from .verify import (VerificationError, leaf_bytes, leaf_hash, root_from_inclusion_proof,
                     verify_inclusion, verify_note)

__all__ = ["Client", "Producer", "BufferedSender", "ApiError", "TransientError",
           "VerificationError", "new_idempotency_key", "provenance", "with_provenance",
           "leaf_bytes", "leaf_hash", "root_from_inclusion_proof", "verify_inclusion",
           "verify_note"]
__version__ = "0.1.0"
