/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crash points for tests: with TRADETRAIL_FAILPOINT=NAME in the environment, a process that
 * reaches the point called NAME kills itself with SIGKILL, as a power cut or kill -9 would
 * stop it there. Retention's crash tests (tests/e2e/test_retention.py) stop a run at each
 * of its steps this way and check that nothing is lost.
 */
#ifndef TT_UTIL_FAILPOINT_H
#define TT_UTIL_FAILPOINT_H

/* Kill this process (SIGKILL) when TRADETRAIL_FAILPOINT names this point. */
void tti_failpoint(const char *name);

#endif
