/* principal.h — who is asking: the verified identity of a request.
 *
 * A principal is made by the authenticator (auth.h) from a verified token, or
 * stands for an anonymous client, or for the component's own app (a call on the
 * sidecar's Unix socket, which only the pod can reach). It is read by the access
 * policy (access.h), handed to the app's hooks and command handlers
 * (docs/app-protocol.md) and recorded in events as `byronprincipal`
 * (docs/events.md).
 *
 * The claims are a json-c object, and json-c reference counts are not atomic:
 * a principal belongs to one thread at a time (the worker serving the request,
 * or the connection's current ws worker). To hand one to another thread, copy
 * it there with byron_principal_copy while the owner is not using it. */
#ifndef BYRON_SIDECAR_PRINCIPAL_H
#define BYRON_SIDECAR_PRINCIPAL_H

#include "byron/status.h"

#include <json-c/json.h>
#include <stdint.h>

#define BYRON_PRINCIPAL_SUB_MAX 256

typedef enum {
    BYRON_PRINCIPAL_ANONYMOUS = 0, /* no credentials presented */
    BYRON_PRINCIPAL_USER,          /* a verified bearer token */
    BYRON_PRINCIPAL_APP,           /* the component's app, on the sidecar's Unix socket */
} byron_principal_kind_t;

typedef struct byron_principal {
    byron_principal_kind_t kind;
    char sub[BYRON_PRINCIPAL_SUB_MAX + 1]; /* USER: the token's `sub` */
    char iss[BYRON_PRINCIPAL_SUB_MAX + 1]; /* USER: the token's `iss` */
    int64_t exp;                           /* USER: expiry, Unix seconds */
    json_object *claims;                   /* USER: the token's payload (owned); NULL otherwise */
} byron_principal_t;

/* An anonymous principal (the zero value is one too). */
void byron_principal_init(byron_principal_t *p);
void byron_principal_cleanup(byron_principal_t *p);
/* dst becomes an independent copy of src (claims re-built from their text, so
 * dst shares nothing with src). */
byron_status_t byron_principal_copy(byron_principal_t *dst, const byron_principal_t *src);

/* The value of a claim by path: "sub", "realm_access.roles" (dots walk
 * objects). Borrowed from p->claims; NULL when absent or not a user. */
json_object *byron_principal_claim(const byron_principal_t *p, const char *path);

/* What the app sees (hook and handler bodies, docs/app-protocol.md):
 * {"kind":"user","sub":..,"iss":..,"claims":{..}}, {"kind":"anonymous"} or
 * {"kind":"app"}. New object; caller puts. */
json_object *byron_principal_to_json(const byron_principal_t *p);

/* "user", "anonymous", "app" */
const char *byron_principal_kind_name(byron_principal_kind_t k);

#endif
