/* testenv.c — read the integration test environment (see testenv.h). */
#include "testenv.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

long long byron_test_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
