#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes the example.* known-answer vectors of tests/unit/test_note.c with an implementation
# independent of src/core/note.c (Python `cryptography` for Ed25519, the formats written
# out here from c2sp.org/signed-note and c2sp.org/tlog-checkpoint). Ed25519 is
# deterministic, so running it again must leave the files unchanged.
import base64
import hashlib
import pathlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = pathlib.Path(__file__).resolve().parent
SEED = bytes(range(32))
NAME = "example.com/log"
SIZE = 8
ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")

key = Ed25519PrivateKey.from_private_bytes(SEED)
pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
# key ID = SHA-256(key name || 0x0A || 0x01 || public key)[:4]
ED25519 = b"\x01"  # signature type
key_id = hashlib.sha256(NAME.encode() + b"\n" + ED25519 + pub).digest()[:4]
b64 = lambda b: base64.b64encode(b).decode()

skey = f"PRIVATE+KEY+{NAME}+{key_id.hex()}+{b64(ED25519 + SEED)}\n"
vkey = f"{NAME}+{key_id.hex()}+{b64(ED25519 + pub)}\n"
body = f"{NAME}\n{SIZE}\n{b64(ROOT)}\n".encode()
note = body + b"\n" + f"\u2014 {NAME} {b64(key_id + key.sign(body))}\n".encode()

(HERE / "example.key").write_text(skey)
(HERE / "example.vkey").write_text(vkey)
(HERE / "example-8.note").write_bytes(note)
