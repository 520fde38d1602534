/* child.c — see child.h. */
#include "child.h"

#include "byron/clock.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Every child and its log, so that byron_test_wait_exit can read what it left
 * there. Children are spawned and waited for on the test's thread. */
static struct {
    pid_t pid;
    char log[300];
} children[128];

void byron_test_sleep_ms(long ms) { byron_clock_sleep_ms(ms); }

int byron_test_sanitizer_report(const char *log) {
    static const char *const MARKS[] = {"WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer",
                                        "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"};
    FILE *f = fopen(log, "r");
    char line[4096];
    int found = 0, shown = 0;
    while (f && fgets(line, sizeof line, f)) {
        for (size_t i = 0; !found && i < sizeof MARKS / sizeof MARKS[0]; i++)
            found = strstr(line, MARKS[i]) != NULL;
        /* The report's first lines into the test's own output: the test then
         * fails on them too (FAIL_REGULAR_EXPRESSION of sanitizer builds). */
        if (found && shown++ < 40) fprintf(stderr, "%s: %s", log, line);
    }
    if (f) fclose(f);
    return found;
}

pid_t byron_test_spawn(char *const argv[], const char *out, const char *log, char *const extra_env[]) {
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* A failed assertion ends the test process: take the children with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int ofd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644) : fd;
        dup2(ofd, 1);
        dup2(fd, 2);
        for (char *const *e = extra_env; e && *e; e++) putenv(*e);
        execvp(argv[0], argv);
        _exit(127);
    }
    size_t i = 0;
    while (i < sizeof children / sizeof children[0] && children[i].pid != 0) i++;
    cr_assert_lt(i, sizeof children / sizeof children[0], "more than %zu children at once",
                 sizeof children / sizeof children[0]);
    children[i].pid = pid;
    snprintf(children[i].log, sizeof children[i].log, "%s", log);
    return pid;
}

/* A child that wrote a sanitizer report fails the test, whatever its exit status. */
static void check_child_log(pid_t pid) {
    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
        if (children[i].pid == pid) {
            children[i].pid = 0;
            cr_expect(!byron_test_sanitizer_report(children[i].log), "sanitizer report in %s",
                      children[i].log);
        }
}

int byron_test_wait_exit(pid_t pid, int timeout_ms) {
    int rc = -1;
    int64_t deadline = byron_clock_mono_ms() + timeout_ms;
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (byron_clock_mono_ms() >= deadline) break;
        byron_test_sleep_ms(20);
    }
    if (rc == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    check_child_log(pid);
    return rc;
}
