/* cache_wait.c — see cache_wait.h. */
#include "cache_wait.h"

#include "byron/clock.h"

#include <time.h>

byron_status_t byron_cache_wait_version(byron_cache_t *cache, const char *model, const char *id,
                                        int64_t version, int deleted, int timeout_ms, byron_err_t *err) {
    int64_t deadline = byron_clock_mono_ms() + timeout_ms;
    long step = 5;
    int64_t seen = -1;
    for (;;) {
        byron_cache_projection_t p;
        byron_err_t e = {0};
        byron_status_t st = byron_cache_projection(cache, model, id, 0, &p, &e);
        if (st == BYRON_EINVAL) return byron_err_set(err, st, "%s", e.msg);
        if (st == BYRON_OK) {
            seen = p.version;
            int done = p.version >= version && (!deleted || p.doc == NULL);
            json_object_put(p.doc);
            if (done) return BYRON_OK;
        }
        if (byron_clock_mono_ms() + step > deadline)
            return byron_err_set(err, BYRON_ETIMEDOUT,
                                 "%s %s not projected within %d ms (cached version %lld, expected %s%lld)",
                                 model, id, timeout_ms, (long long)seen, deleted ? "deleted at " : "",
                                 (long long)version);
        byron_clock_sleep_ms(step);
        if (step < 50) step *= 2;
    }
}

byron_status_t byron_cache_wait_state(byron_cache_t *cache, const char *model, const char *id,
                                      int64_t version, int timeout_ms, json_object **state,
                                      byron_err_t *err) {
    int64_t deadline = byron_clock_mono_ms() + timeout_ms;
    long step = 1;
    *state = NULL;
    for (int round = 0;; round++) {
        byron_cache_projection_t p;
        /* The block marker only matters once the projection is seen behind. */
        byron_status_t st = byron_cache_projection(cache, model, id, round > 0, &p, err);
        if (st != BYRON_OK) return st;
        if (p.version == version) {
            *state = p.doc;
            return BYRON_OK;
        }
        json_object_put(p.doc);
        if (p.version > version)
            return byron_err_set(err, BYRON_ECONFLICT, "%s %s changed (projected version %lld, read %lld)",
                                 model, id, (long long)p.version, (long long)version);
        if (p.blocked)
            return byron_err_set(
                err, BYRON_ESTATE,
                "%s %s cannot be changed: the sink stopped it at version %lld (%s); repair the "
                "dead letter (docs/sink.md, \"Dead letters\")",
                model, id, (long long)p.blocked_version, p.blocked_why);
        if (byron_clock_mono_ms() + step > deadline)
            return byron_err_set(
                err, BYRON_ETIMEDOUT,
                "%s %s: the cache has not projected version %lld within %d ms (it is at %lld): "
                "the sink is behind or down",
                model, id, (long long)version, timeout_ms, (long long)p.version);
        byron_clock_sleep_ms(step);
        if (step < 20) step *= 2;
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
