/* SPDX-License-Identifier: Apache-2.0 */
/* Names for the library's and the server's own threads (src/util/thread.c). */
#ifndef TT_UTIL_THREAD_H
#define TT_UTIL_THREAD_H

/* Names the calling thread (at most 15 characters), as `top -H`, `ps -L` and perf show it. */
void tti_thread_name(const char *name);

#endif
