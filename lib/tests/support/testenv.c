/* testenv.c — read the integration test environment (see testenv.h). */
#include "testenv.h"

#include "byron/clock.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_KEYS 32

static struct {
    int loaded;
    char *keys[MAX_KEYS], *vals[MAX_KEYS];
    int n;
} env;

static void load(void) {
    if (env.loaded) return;
    const char *path = getenv("BYRON_TESTENV");
    if (!path)
        cr_assert_fail("BYRON_TESTENV is not set: run integration tests through ctest (fixture testenv)");
    FILE *f = fopen(path, "r");
    if (!f) cr_assert_fail("cannot open the testenv file %s: is `scripts/testenv start` running?", path);
    char line[1024];
    while (fgets(line, sizeof line, f) && env.n < MAX_KEYS) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = '\0';
        env.keys[env.n] = strdup(line);
        env.vals[env.n] = strdup(eq + 1);
        env.n++;
    }
    fclose(f);
    env.loaded = 1;
}

const char *byron_testenv(const char *key) {
    load();
    for (int i = 0; i < env.n; i++)
        if (strcmp(env.keys[i], key) == 0) return env.vals[i];
    cr_assert_fail("testenv has no %s", key);
    return NULL;
}

int byron_testenv_ctl(const char *verb, const char *server) {
    const char *src = getenv("BYRON_SOURCE_DIR");
    if (!src) cr_assert_fail("BYRON_SOURCE_DIR is not set");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s/scripts/testenv' %s %s '%s' >&2", src, verb, server,
             byron_testenv("BYRON_TESTENV_DIR"));
    return system(cmd);
}

long long byron_test_now_ms(void) { return byron_clock_mono_ms(); }

static int pick_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0, "socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int ok =
        bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &l) == 0;
    close(fd);
    cr_assert(ok, "no free loopback port");
    return ntohs(a.sin_port);
}

/* A port closed again is free again: two picks in a row (a server's port and
 * its admin port) can be the same one. The last ports handed out are not
 * handed out again. (Test thread only.) */
int byron_test_free_port(void) {
    static int recent[64];
    static size_t next;
    for (;;) {
        int port = pick_port(), seen = 0;
        for (size_t i = 0; i < sizeof recent / sizeof recent[0]; i++) seen |= recent[i] == port;
        if (seen) continue;
        recent[next++ % (sizeof recent / sizeof recent[0])] = port;
        return port;
    }
}
