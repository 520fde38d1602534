/* cache_wait.h — read-your-writes for a mutation (ARCHITECTURE.md, contract 5):
 * wait, bounded, until the sink has projected a command's events into the cache.
 *
 * Polls the cached document (byron_cache_get) with a growing interval
 * (5 ms → 50 ms): O(wait / interval) reads, cheap next to a command, and no
 * channel from the sink to the API is needed. Blocking: call it from a worker. */
#ifndef BYRON_SIDECAR_CACHE_WAIT_H
#define BYRON_SIDECAR_CACHE_WAIT_H

#include "byron/status.h"
#include "cache.h"
#include "commands.h"
#include "component.h"

#include <stdint.h>

#define BYRON_CONSISTENCY_TIMEOUT_MS 5000

/* BYRON_OK once model/id is projected to a version >= version (and absent,
 * when deleted is set); BYRON_ETIMEDOUT after timeout_ms; BYRON_EINVAL for an
 * unknown model. */
byron_status_t byron_cache_wait_version(byron_cache_t *cache, const char *model, const char *id,
                                        int64_t version, int deleted, int timeout_ms, byron_err_t *err);

/* The aggregate's state at exactly `version`: the object the sink projected
 * once it reached that version — what hooks decide on (docs/app-protocol.md,
 * "current"). Polls 1 → 20 ms.
 *   BYRON_OK           *state: the object (caller puts), or NULL when the
 *                      projection at that version has none (a handler deleted it)
 *   BYRON_ECONFLICT    the cache is already past `version`: the aggregate changed
 *                      since the caller read the stream
 *   BYRON_ETIMEDOUT    not projected that far within timeout_ms (sink behind or down)
 *   BYRON_ESTATE       the sink stopped the aggregate before `version` (a dead letter)
 *   BYRON_EUNAVAILABLE the cache is unreachable */
byron_status_t byron_cache_wait_state(byron_cache_t *cache, const char *model, const char *id,
                                      int64_t version, int timeout_ms, json_object **state, byron_err_t *err);

/* For a successful command's result: waits (BYRON_CONSISTENCY_TIMEOUT_MS) and
 * adds "projected": true|false (and "projectionError") to its JSON answer. */
void byron_cache_wait_command(byron_cache_t *cache, const byron_component_t *c, const char *command,
                              const byron_command_result_t *res, json_object *answer);

#endif
