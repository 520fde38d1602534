/* pause — the infrastructure ("sandbox") container of every pod.
 *
 * It holds the pod's namespaces open and does nothing else: as PID 1 of the
 * pod's PID namespace (when shared) it reaps orphaned children, and it exits
 * promptly on SIGINT/SIGTERM so pod teardown is not delayed by a grace period.
 * Built static (no libc at run time) into the image registry.k8s.io/pause.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "byron-3.10"

static void on_terminate(int sig) {
    /* async-signal-safe: write(2) and _exit(2) only */
    static const char msg[] = "pause: shutting down\n";
    ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)r;
    _exit(sig == SIGTERM || sig == SIGINT ? 0 : 1);
}

static void on_child(int sig) {
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    errno = saved;
}

int main(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("pause.c %s\n", PAUSE_VERSION);
        return 0;
    }
    if (getpid() != 1) {
        fprintf(stderr, "pause: warning: not running as PID 1\n");
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_terminate;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
        perror("pause: sigaction");
        return 1;
    }
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    if (sigaction(SIGCHLD, &sa, NULL) < 0) {
        perror("pause: sigaction");
        return 2;
    }

    for (;;) {
        pause();
    }
    fprintf(stderr, "pause: unreachable\n");
    return 42;
}
