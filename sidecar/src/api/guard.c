/* guard.c — enforcement of the access policy for REST and GraphQL (guard.h). */
#include "guard.h"

#include "byron/json.h"
#include "commands.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void byron_guard_op_name(const char *model, const char *suffix, char *out, size_t cap) {
    snprintf(out, cap, "%s%s", model, suffix);
    if (out[0]) out[0] = (char)tolower((unsigned char)out[0]);
}

int byron_guard_scope_key(const byron_principal_t *p, const char *key, char *out, size_t cap) {
    if (p->kind != BYRON_PRINCIPAL_USER) return snprintf(out, cap, "%s", key) < (int)cap ? 0 : -1;
    uint64_t h = 14695981039346656037ull;
    for (const char *s = p->iss;; s++) { /* iss, a separator no claim holds, sub */
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
        if (!*s) break;
    }
    for (const char *s = p->sub; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    int n = snprintf(out, cap, "%016llx~%s", (unsigned long long)h, key);
    return n > 0 && (size_t)n < cap && n <= 128 ? 0 : -1;
}

static int refuse(byron_access_decision_t d, byron_guard_refusal_t *r, byron_err_t *err, const char *op) {
    if (d == BYRON_ACCESS_UNAUTHENTICATED) {
        r->code = BYRON_CODE_UNAUTHENTICATED;
        r->http = 401;
        byron_err_set(err, BYRON_EREJECTED, "%.128s: authentication required", op);
    } else {
        r->code = BYRON_CODE_FORBIDDEN;
        r->http = 403;
        byron_err_set(err, BYRON_EREJECTED, "%.128s: not allowed", op);
    }
    return -1;
}

int byron_guard_read(byron_sidecar_t *sc, const byron_principal_t *p, const char *operation,
                     byron_access_rows_t *rows, byron_guard_refusal_t *r, byron_err_t *err) {
    byron_access_decision_t d = byron_access_check(sc->component->access, operation, p, rows);
    if (d != BYRON_ACCESS_ALLOW) return refuse(d, r, err, operation);
    return 0;
}

int byron_guard_command(byron_sidecar_t *sc, const byron_principal_t *p, const char *command, const char *id,
                        json_object *input, byron_guard_refusal_t *r, byron_err_t *err) {
    byron_access_rows_t rows = {0};
    /* Not a command of this component: the command layer names it (400); nothing runs. */
    if (!byron_access_operation_known(sc->component->access, command)) return 0;
    byron_access_decision_t d = byron_access_check(sc->component->access, command, p, &rows);
    if (d != BYRON_ACCESS_ALLOW) return refuse(d, r, err, command);
    if (byron_access_rows_all(&rows)) return 0;
    byron_command_ref_t ref;
    int rc = 0;
    if (byron_component_command(sc->component, command, &ref) != BYRON_OK) {
        rc = 0; /* unknown: the command layer answers that */
    } else if (ref.kind == BYRON_CMD_CREATE) {
        /* The new object is the input (with its id); it must be a row the principal may own. */
        json_object *obj = json_object_new_object();
        if (input) {
            json_object_object_foreach(input, k, v) json_object_object_add(obj, k, json_object_get(v));
        }
        if (id && !json_object_object_get_ex(obj, "id", NULL))
            json_object_object_add(obj, "id", json_object_new_string(id));
        if (!byron_access_rows_input_ok(&rows, obj, 1)) {
            r->code = BYRON_CODE_FORBIDDEN;
            r->http = 403;
            byron_err_set(err, BYRON_EREJECTED,
                          "%.128s: the new %s must belong to you (set its owner fields)", command,
                          ref.model->name);
            rc = -1;
        }
        json_object_put(obj);
    } else {
        json_object *cur = NULL;
        byron_err_t cerr = {0};
        byron_status_t st =
            id && sc->cache ? byron_cache_get(sc->cache, ref.model->name, id, &cur, &cerr) : BYRON_ENOTFOUND;
        if (st == BYRON_EUNAVAILABLE) {
            r->code = BYRON_CODE_UNAVAILABLE;
            r->http = 503;
            byron_err_set(err, BYRON_EUNAVAILABLE, "%s", cerr.msg);
            rc = -1;
        } else if (st != BYRON_OK || !byron_access_rows_match(&rows, cur)) {
            /* Absent from the cache (or not projected yet) cannot be shown to be yours. */
            r->code = BYRON_CODE_FORBIDDEN;
            r->http = 403;
            byron_err_set(err, BYRON_EREJECTED, "%.128s: not allowed on %s %.128s", command, ref.model->name,
                          id ? id : "");
            rc = -1;
        } else if (ref.kind == BYRON_CMD_UPDATE && !byron_access_rows_input_ok(&rows, input, 0)) {
            r->code = BYRON_CODE_FORBIDDEN;
            r->http = 403;
            byron_err_set(err, BYRON_EREJECTED, "%.128s: %s %.128s must stay yours", command, ref.model->name,
                          id);
            rc = -1;
        }
        json_object_put(cur);
    }
    byron_access_rows_cleanup(&rows);
    return rc;
}

/* ------------------------------------------------------------------ typed filters */

static byron_status_t check_one(const byron_field_t *f, json_object *v, const char *path, byron_err_t *err) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, f->name, json_object_get(v));
    byron_status_t st = byron_input_validate(f, 1, o, 1, 0, path, err);
    json_object_put(o);
    return st;
}

byron_status_t byron_guard_filter(const byron_model_t *m, json_object *filter, byron_err_t *err) {
    static const char *const OPS[] = {"eq", "ne", "gt", "gte", "lt", "lte", "in"};
    static const byron_field_t ID = {.name = "id", .type_name = "ID", .kind = BYRON_TYPE_ID};
    if (!filter) return BYRON_OK;
    if (!json_object_is_type(filter, json_type_object))
        return byron_err_set(err, BYRON_EINVAL, "filter: must be an object");
    json_object_object_foreach(filter, name, val) {
        const byron_field_t *f = strcmp(name, "id") == 0 ? &ID : byron_model_field(m, name);
        if (!f || (f != &ID && !f->indexed))
            return byron_err_set(err, BYRON_EINVAL, "filter.%.64s: not an indexed field of %s", name,
                                 m->name);
        char path[128];
        snprintf(path, sizeof path, "filter");
        if (!json_object_is_type(val, json_type_object)) {
            byron_status_t st = check_one(f, val, path, err);
            if (st != BYRON_OK) return st;
            continue;
        }
        json_object_object_foreach(val, op, arg) {
            int known = 0;
            for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) known |= strcmp(OPS[i], op) == 0;
            if (!known)
                return byron_err_set(err, BYRON_EINVAL,
                                     "filter.%.64s.%.16s: unknown operator (eq ne gt gte lt lte in)", name,
                                     op);
            snprintf(path, sizeof path, "filter.%.64s", name);
            byron_status_t st = BYRON_OK;
            if (strcmp(op, "in") == 0) {
                if (!json_object_is_type(arg, json_type_array) || json_object_array_length(arg) > 1000)
                    return byron_err_set(err, BYRON_EINVAL,
                                         "filter.%.64s.in: must be a list of at most 1000 values", name);
                for (size_t i = 0; i < json_object_array_length(arg) && st == BYRON_OK; i++) {
                    json_object *e = json_object_array_get_idx(arg, i);
                    if (!e)
                        return byron_err_set(err, BYRON_EINVAL, "filter.%.64s.in[%zu]: may not be null", name,
                                             i);
                    st = check_one(f, e, path, err);
                }
            } else {
                st = check_one(f, arg, path, err);
            }
            if (st != BYRON_OK) return st;
        }
    }
    return BYRON_OK;
}
