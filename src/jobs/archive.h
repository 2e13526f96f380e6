/* SPDX-License-Identifier: Apache-2.0 */
/* Archive segments as the other files of src/jobs use them (archive.c; SPEC 8). */
#ifndef TT_JOBS_ARCHIVE_H
#define TT_JOBS_ARCHIVE_H

#include "ledger/ledger.h"

/* Check the recorded segment seg in dir: its manifest's signed checkpoint (the ledger's
 * verifier key), the file's size and SHA-256, every line, the range proof, and that all of
 * it is the segment the store recorded. TT_OK, or TT_ETAMPERED / TT_EIO with a message. */
int tti_archive_check(tt_ledger *l, const char *dir, const tti_segment *seg);

#endif
