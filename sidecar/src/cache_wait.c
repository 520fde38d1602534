/* cache_wait.c — see cache_wait.h. */
#include "cache_wait.h"

#include <time.h>

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

byron_status_t byron_cache_wait_version(byron_cache_t *cache, const char *model, const char *id,
                                        int64_t version, int deleted, int timeout_ms, byron_err_t *err) {
    int64_t deadline = mono_ms() + timeout_ms;
    long step = 5;
    int64_t seen = -1;
    for (;;) {
        json_object *doc = NULL;
        byron_err_t e = {0};
        byron_status_t st = byron_cache_get(cache, model, id, &doc, &e);
        if (st == BYRON_EINVAL) return byron_err_set(err, st, "%s", e.msg);
        if (st == BYRON_OK) {
            json_object *v = NULL;
            seen = json_object_object_get_ex(doc, "version", &v) ? json_object_get_int64(v) : 0;
            json_object_put(doc);
            if (!deleted && seen >= version) return BYRON_OK;
        } else if (st == BYRON_ENOTFOUND) {
            seen = 0;
            if (deleted) return BYRON_OK;
        }
        if (mono_ms() + step > deadline)
            return byron_err_set(err, BYRON_ETIMEDOUT,
                                 "%s %s not projected within %d ms (cached version %lld, expected %s%lld)",
                                 model, id, timeout_ms, (long long)seen, deleted ? "deleted after " : "",
                                 (long long)version);
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        if (step < 50) step *= 2;
    }
}

void byron_cache_wait_command(byron_cache_t *cache, const byron_component_t *c, const char *command,
                              const byron_command_result_t *res, json_object *answer) {
    byron_command_ref_t ref;
    byron_err_t err = {0};
    byron_status_t st = byron_component_command(c, command, &ref);
    if (st == BYRON_OK)
        st = byron_cache_wait_version(cache, ref.model->name, res->id, res->version,
                                      ref.kind == BYRON_CMD_DELETE, BYRON_CONSISTENCY_TIMEOUT_MS, &err);
    json_object_object_add(answer, "projected", json_object_new_boolean(st == BYRON_OK));
    if (st != BYRON_OK) json_object_object_add(answer, "projectionError", json_object_new_string(err.msg));
}
