/* principal.c — the identity of a request (principal.h). */
#include "principal.h"

#include "byron/json.h"

#include <stdio.h>
#include <string.h>

void byron_principal_init(byron_principal_t *p) { memset(p, 0, sizeof *p); }

void byron_principal_cleanup(byron_principal_t *p) {
    json_object_put(p->claims);
    memset(p, 0, sizeof *p);
}

byron_status_t byron_principal_copy(byron_principal_t *dst, const byron_principal_t *src) {
    byron_principal_init(dst);
    dst->kind = src->kind;
    memcpy(dst->sub, src->sub, sizeof dst->sub);
    memcpy(dst->iss, src->iss, sizeof dst->iss);
    dst->exp = src->exp;
    if (!src->claims) return BYRON_OK;
    /* Through text: a deep copy would still read src's objects from this thread. */
    const char *text = json_object_to_json_string_ext(src->claims, JSON_C_TO_STRING_PLAIN);
    byron_err_t err;
    if (!text || byron_json_parse(text, strlen(text), 0, &dst->claims, &err) != BYRON_OK) {
        byron_principal_cleanup(dst);
        return BYRON_ENOMEM;
    }
    return BYRON_OK;
}

json_object *byron_principal_claim(const byron_principal_t *p, const char *path) {
    if (p->kind != BYRON_PRINCIPAL_USER || !p->claims) return NULL;
    json_object *cur = p->claims;
    char key[128];
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n == 0 || n >= sizeof key || !json_object_is_type(cur, json_type_object)) return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        if (!json_object_object_get_ex(cur, key, &cur) || !cur) return NULL;
        path += n + (dot ? 1 : 0);
    }
    return cur;
}

const char *byron_principal_kind_name(byron_principal_kind_t k) {
    switch (k) {
    case BYRON_PRINCIPAL_USER: return "user";
    case BYRON_PRINCIPAL_APP: return "app";
    default: return "anonymous";
    }
}

json_object *byron_principal_to_json(const byron_principal_t *p) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "kind", json_object_new_string(byron_principal_kind_name(p->kind)));
    if (p->kind == BYRON_PRINCIPAL_USER) {
        json_object_object_add(o, "sub", json_object_new_string(p->sub));
        json_object_object_add(o, "iss", json_object_new_string(p->iss));
        json_object_object_add(o, "claims",
                               p->claims ? json_object_get(p->claims) : json_object_new_object());
    }
    return o;
}
