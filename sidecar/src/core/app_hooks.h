/* app_hooks.h — the hooks an app declares (docs/app-protocol.md, "GET /v1/hooks").
 *
 * An app may answer GET /v1/hooks with the paths it serves:
 *
 *     {"hooks": ["/v1/commands/createOrder/before", "/v1/events/OrderShipped"]}
 *
 * The sidecar then skips a call to any other hook path, as if the app had
 * answered 404, without the round trip. The declaration holds for the life of
 * the app's socket (app.c reads it again when the socket is a new one). This
 * file is the declaration's validation and lookup; pure functions. */
#ifndef BYRON_SIDECAR_APP_HOOKS_H
#define BYRON_SIDECAR_APP_HOOKS_H

#include "byron/status.h"

#include <json-c/json.h>
#include <stddef.h>

#define BYRON_APP_HOOKS_MAX 4096     /* paths in one declaration */
#define BYRON_APP_HOOKS_PATH_MAX 300 /* bytes of one path */

typedef struct byron_app_hooks byron_app_hooks_t;

/* The declaration in o ({"hooks": [path...]}): every path starts with
 * /v1/commands/ or /v1/events/, holds only [A-Za-z0-9_.-/], no empty segment,
 * at most BYRON_APP_HOOKS_PATH_MAX bytes; at most BYRON_APP_HOOKS_MAX of them;
 * no other key. Anything else: BYRON_EINVAL naming what is wrong. */
byron_status_t byron_app_hooks_parse(json_object *o, byron_app_hooks_t **out, byron_err_t *err);

/* Whether path is declared. */
int byron_app_hooks_declares(const byron_app_hooks_t *h, const char *path);

size_t byron_app_hooks_count(const byron_app_hooks_t *h);

void byron_app_hooks_free(byron_app_hooks_t *h);

#endif
