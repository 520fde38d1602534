/* testenv.h — integration tests read the servers started by scripts/testenv.
 *
 * ctest sets BYRON_TESTENV to the env file (KEY=VALUE lines). A missing file
 * or key aborts the test with a clear message: an integration test must never
 * silently pass without its server. */
#ifndef BYRON_TEST_TESTENV_H
#define BYRON_TEST_TESTENV_H

/* Value of KEY in the testenv file; the string lives until the process exits. */
const char *byron_testenv(const char *key);

/* Run `scripts/testenv <verb> <server> <dir>` (restart/kill) and wait for it. 0 on success. */
int byron_testenv_ctl(const char *verb, const char *server);

/* Milliseconds on a monotonic clock, for deadlines. */
long long byron_test_now_ms(void);

/* A loopback TCP port free at the time of the call (for a server the test starts). */
int byron_test_free_port(void);

#endif
