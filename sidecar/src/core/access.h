/* access.h — who may do what: the component's access policy (`auth` in
 * component.json, `spec.auth` in the ByronComponent; docs/security.md).
 *
 * Operations are named as the GraphQL root fields the component generates
 * (docs/component-spec.md): per model M, `m` (by id), `ms` (list), `mEvents`
 * (subscription), `createM`, `updateM`, `deleteM`; every custom command by its
 * name; "*" for all of them. REST calls map onto the same names
 * (POST /v1/commands/shipOrder is `shipOrder`, GET /v1/cache/Order/o-1 is
 * `order`, POST /v1/cache/Order/query is `orders`).
 *
 * Deny by default. Each rule names operations and grants them to
 *   - everyone, anonymous clients included ("anonymous": true), or
 *   - verified principals whose claims all hold ("claims": [{"claim": "scp",
 *     "equals": "orders.write"}, {"claim": "roles", "anyOf": ["admin", "clerk"]}];
 *     an array claim holds when one of its elements does),
 *   optionally restricted to rows ("match": [{"field": "customer", "claim":
 *   "sub"}]: the object's field equals the claim, or one of its elements).
 * Rules that grant an operation are alternatives: the rows a principal may
 * touch are the union of their matches (a granting rule without "match": all).
 * The app (the sidecar's Unix socket) is trusted with everything.
 *
 * A parsed policy is immutable and shared by all threads; a decision's rows
 * (byron_access_rows_t) belong to the thread that asked. */
#ifndef BYRON_SIDECAR_ACCESS_H
#define BYRON_SIDECAR_ACCESS_H

#include "byron/status.h"
#include "principal.h"

#include <json-c/json.h>

struct byron_component;

#define BYRON_ACCESS_MAX_RULES 256
#define BYRON_ACCESS_MAX_ORIGINS 64
#define BYRON_ACCESS_DEFAULT_SKEW_S 30
#define BYRON_ACCESS_MAX_SKEW_S 300

/* How tokens are verified (auth.h uses it). */
typedef struct byron_access_settings {
    char *issuer;     /* NULL: no tokens are accepted (only anonymous rules can grant) */
    char **audiences; /* a token's aud must name one */
    size_t naudiences;
    char *jwks_url;      /* NULL: from the issuer's discovery document */
    unsigned algorithms; /* BYRON_ALG_* mask (token.h) */
    int skew_s;
    char **origins; /* CORS / WebSocket Origin allow-list; "*" allows any origin (without credentials) */
    size_t norigins;
} byron_access_settings_t;

typedef struct byron_access byron_access_t;

/* Parses the `auth` object of component.json against the component (every
 * operation and field it names must exist); auth NULL: the default policy,
 * which grants nothing. Errors name the path ("auth.rules[2].match[0].field:
 * Order has no field \"owner\""). */
byron_status_t byron_access_parse(const struct byron_component *c, json_object *auth, byron_access_t **out,
                                  byron_err_t *err);
void byron_access_free(byron_access_t *a);
const byron_access_settings_t *byron_access_settings(const byron_access_t *a);
/* Whether `origin` (the Origin header) may call from a browser. */
int byron_access_origin_allowed(const byron_access_t *a, const char *origin);
/* Whether the operation is known (the REST and GraphQL layers ask before deciding). */
int byron_access_operation_known(const byron_access_t *a, const char *operation);

typedef enum {
    BYRON_ACCESS_ALLOW = 0,
    BYRON_ACCESS_UNAUTHENTICATED, /* anonymous, and no rule grants anonymous access: 401 */
    BYRON_ACCESS_FORBIDDEN,       /* authenticated, and no rule grants it: 403 */
} byron_access_decision_t;

/* Which rows a decision allows: NULL alternatives means all rows. */
typedef struct byron_access_rows {
    json_object *alts; /* [{"field": [allowed values...], ...}, ...]: one object per granting rule */
} byron_access_rows_t;

/* Decides whether p may run `operation`; on ALLOW, *rows (if given) says which
 * rows (release it with byron_access_rows_cleanup either way). */
byron_access_decision_t byron_access_check(const byron_access_t *a, const char *operation,
                                           const byron_principal_t *p, byron_access_rows_t *rows);
void byron_access_rows_cleanup(byron_access_rows_t *rows);
int byron_access_rows_all(const byron_access_rows_t *rows);
/* Whether an object ({"id":..., fields...}) is one of the allowed rows. */
int byron_access_rows_match(const byron_access_rows_t *rows, json_object *obj);
/* Whether a command input may be written by the holder of rows: every match
 * field it sets holds an allowed value, and (require_all) every match field
 * of some alternative is set (a create must name its owner). */
int byron_access_rows_input_ok(const byron_access_rows_t *rows, json_object *input, int require_all);
/* The rows as a MongoDB condition (field "id" is "_id"); NULL for all rows.
 * New object; caller puts. */
json_object *byron_access_rows_filter(const byron_access_rows_t *rows);

/* The messages and codes a refusal carries (GraphQL extensions.code). */
#define BYRON_CODE_UNAUTHENTICATED "UNAUTHENTICATED"
#define BYRON_CODE_FORBIDDEN "FORBIDDEN"

#endif
