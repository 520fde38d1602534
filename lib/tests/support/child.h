/* child.h — the processes a test starts (sidecars, operators, apps, servers).
 *
 * A child counts: whatever it leaves in its log is read when it is waited
 * for, and an AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer or
 * ThreadSanitizer report there fails the test (its first lines are copied to
 * the test's output, where a sanitizer build's FAIL_REGULAR_EXPRESSION sees
 * them too). Its exit status is returned for the caller to assert on; the
 * stop helpers built on this (harness.c, the operator tests) assert it. */
#ifndef BYRON_TEST_CHILD_H
#define BYRON_TEST_CHILD_H

#include <sys/types.h>

/* Fork and exec argv[0] (searched on PATH) with stdout to out (NULL: the log),
 * stderr appended to log, and extra "K=V" environment entries (NULL-terminated,
 * or NULL). The child dies with the test process (a failed assertion must not
 * leave servers behind). Remembers the log for byron_test_wait_exit. */
pid_t byron_test_spawn(char *const argv[], const char *out, const char *log, char *const extra_env[]);

/* Wait up to timeout_ms for pid: its exit status (128+signal when a signal
 * ended it), or -1 when it was still running (it is then SIGKILLed). A
 * sanitizer report in the child's log fails the test. */
int byron_test_wait_exit(pid_t pid, int timeout_ms);

/* Whether the log holds a sanitizer report; its first lines go to stderr. */
int byron_test_sanitizer_report(const char *log);

/* A pause between polls of a condition with a deadline (never synchronisation by itself). */
void byron_test_sleep_ms(long ms);

#endif
