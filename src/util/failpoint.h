/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crash and delay points for tests: with TRADETRAIL_FAILPOINT=NAME in the environment, a
 * process that reaches the point called NAME kills itself with SIGKILL, as a power cut or
 * kill -9 would stop it there. Retention's crash tests (tests/e2e/test_retention.py) stop a
 * run at each of its steps this way and check that nothing is lost. With NAME@MS the thread
 * that reaches it sleeps MS milliseconds instead (at most 60000), as slow work would take
 * it (tests/e2e/test_slow_reads.py).
 */
#ifndef TT_UTIL_FAILPOINT_H
#define TT_UTIL_FAILPOINT_H

/* Kill this process (SIGKILL) when TRADETRAIL_FAILPOINT names this point; sleep when it
 * names it with @MS. */
void tti_failpoint(const char *name);

#endif
