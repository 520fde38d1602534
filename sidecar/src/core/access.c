/* access.c — the access policy: parsing `auth`, deciding, row restrictions
 * (access.h). A decision is O(rules × conditions) with no allocation unless
 * the granting rules restrict rows. */
#include "access.h"

#include "byron/json.h"
#include "component.h"
#include "token.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONDS 16
#define MAX_CLAIM_VALUES 256

typedef struct {
    char *claim;       /* path: "roles", "realm_access.roles" */
    json_object *want; /* equals: a scalar; anyOf: an array of scalars (owned, never shared) */
    int any_of;
} cond_t;

typedef struct {
    char *field; /* "id" or a field of every model the rule covers */
    char *claim;
} match_t;

typedef struct {
    size_t *ops; /* operation indices */
    size_t nops;
    int anonymous;
    cond_t conds[MAX_CONDS];
    size_t nconds;
    match_t matches[MAX_CONDS];
    size_t nmatches;
} rule_t;

typedef struct {
    char *name;
    const byron_model_t *model;
} op_t;

struct byron_access {
    byron_access_settings_t settings;
    op_t *ops;
    size_t nops;
    rule_t *rules;
    size_t nrules;
};

/* ------------------------------------------------------------------ operations */

static char *op_name(const char *prefix, const char *model, const char *suffix) {
    size_t n = strlen(prefix) + strlen(model) + strlen(suffix) + 1;
    char *s = malloc(n);
    if (!s) return NULL;
    snprintf(s, n, "%s%s%s", prefix, model, suffix);
    if (!*prefix) s[0] = (char)tolower((unsigned char)s[0]);
    return s;
}

static byron_status_t add_op(byron_access_t *a, char *name, const byron_model_t *m, byron_err_t *err) {
    if (!name) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    a->ops[a->nops++] = (op_t){name, m};
    return BYRON_OK;
}

/* The generated root fields, named as the schema generator names them. */
static byron_status_t build_ops(byron_access_t *a, const byron_component_t *c, byron_err_t *err) {
    if (!(a->ops = calloc(c->nmodels * 6 + c->ncommands + 1, sizeof *a->ops)))
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    byron_status_t st = BYRON_OK;
    for (size_t i = 0; i < c->nmodels && !st; i++) {
        const byron_model_t *m = &c->models[i];
        if ((st = add_op(a, op_name("", m->name, ""), m, err)) ||
            (st = add_op(a, op_name("", m->name, "s"), m, err)) ||
            (st = add_op(a, op_name("", m->name, "Events"), m, err)) ||
            (st = add_op(a, op_name("create", m->name, ""), m, err)) ||
            (st = add_op(a, op_name("update", m->name, ""), m, err)) ||
            (st = add_op(a, op_name("delete", m->name, ""), m, err)))
            break;
    }
    for (size_t i = 0; i < c->ncommands && !st; i++)
        st = add_op(a, strdup(c->commands[i].name), c->commands[i].model, err);
    return st;
}

static long find_op(const byron_access_t *a, const char *name) {
    for (size_t i = 0; i < a->nops; i++)
        if (strcmp(a->ops[i].name, name) == 0) return (long)i;
    return -1;
}

int byron_access_operation_known(const byron_access_t *a, const char *operation) {
    return find_op(a, operation) >= 0;
}

/* ------------------------------------------------------------------ parsing */

/* An array of 1..max strings, each checked by valid (may be NULL). */
static byron_status_t string_list(json_object *o, const char *path, const char *key, size_t max,
                                  int (*valid)(const char *), const char *what, char ***out, size_t *n,
                                  byron_err_t *err) {
    json_object *arr = NULL;
    byron_status_t st = byron_json_get_array(o, path, key, BYRON_JSON_OPTIONAL, &arr, err);
    if (st != BYRON_OK || !arr) return st;
    size_t len = json_object_array_length(arr);
    if (len == 0 || len > max)
        return byron_err_set(err, BYRON_EINVAL, "%s.%s: must hold 1 to %zu entries", path, key, max);
    if (!(*out = calloc(len, sizeof **out))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (size_t i = 0; i < len; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        if (!s || !*s || strlen(s) > 512 || (valid && !valid(s)))
            return byron_err_set(err, BYRON_EINVAL, "%s.%s[%zu]: must be %s", path, key, i, what);
        if (!((*out)[(*n)++] = strdup(s))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    return BYRON_OK;
}

static int is_http_url(const char *s) {
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* scheme://host[:port], nothing after: what browsers send as Origin. */
static int is_origin(const char *s) {
    if (strcmp(s, "*") == 0) return 1;
    const char *p = strncmp(s, "https://", 8) == 0 ? s + 8 : strncmp(s, "http://", 7) == 0 ? s + 7 : NULL;
    if (!p || !*p) return 0;
    for (; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
            return 0;
    return 1;
}

static int is_alg(const char *s) { return byron_token_alg_parse(s) != 0; }

static int is_claim_path(const char *s) {
    if (!*s || strlen(s) > 127 || s[0] == '.' || s[strlen(s) - 1] == '.' || strstr(s, "..")) return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.' || *p == ':' || *p == '/'))
            return 0;
    return 1;
}

static int is_scalar(json_object *v) {
    json_type t = json_object_get_type(v);
    if (t == json_type_double) return isfinite(json_object_get_double(v));
    return t == json_type_string || t == json_type_int || t == json_type_boolean;
}

static byron_status_t parse_settings(byron_access_t *a, json_object *auth, byron_err_t *err) {
    byron_access_settings_t *s = &a->settings;
    const char *issuer = NULL, *jwks = NULL;
    int64_t skew = BYRON_ACCESS_DEFAULT_SKEW_S;
    byron_status_t st;
    if ((st = byron_json_get_string(auth, "auth", "issuer", BYRON_JSON_OPTIONAL, &issuer, err)) ||
        (st = byron_json_get_string(auth, "auth", "jwksURL", BYRON_JSON_OPTIONAL, &jwks, err)) ||
        (st = byron_json_get_int(auth, "auth", "clockSkewSeconds", BYRON_JSON_OPTIONAL, 0,
                                 BYRON_ACCESS_MAX_SKEW_S, &skew, err)))
        return st;
    s->skew_s = (int)skew;
    if (issuer && (!*issuer || strlen(issuer) > 512))
        return byron_err_set(err, BYRON_EINVAL, "auth.issuer: must be 1 to 512 characters");
    if (jwks && !is_http_url(jwks))
        return byron_err_set(err, BYRON_EINVAL, "auth.jwksURL: must be an http(s) URL");
    if ((issuer && !(s->issuer = strdup(issuer))) || (jwks && !(s->jwks_url = strdup(jwks))))
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    if ((st = string_list(auth, "auth", "audiences", 16, NULL, "a non-empty string", &s->audiences,
                          &s->naudiences, err)) ||
        (st = string_list(auth, "auth", "allowedOrigins", BYRON_ACCESS_MAX_ORIGINS, is_origin,
                          "an origin (scheme://host[:port]) or \"*\"", &s->origins, &s->norigins, err)))
        return st;
    if (s->issuer && s->naudiences == 0)
        return byron_err_set(err, BYRON_EINVAL,
                             "auth.audiences: required with an issuer (tokens must name this API)");
    if (!s->issuer && (s->naudiences || s->jwks_url))
        return byron_err_set(err, BYRON_EINVAL, "auth.issuer: required with audiences or jwksURL");
    char **algs = NULL;
    size_t nalgs = 0;
    st = string_list(auth, "auth", "algorithms", 3, is_alg, "RS256, ES256 or EdDSA", &algs, &nalgs, err);
    for (size_t i = 0; i < nalgs; i++) s->algorithms |= byron_token_alg_parse(algs[i]);
    for (size_t i = 0; i < nalgs; i++) free(algs[i]);
    free(algs);
    if (!s->algorithms) s->algorithms = BYRON_ALG_ALL;
    for (size_t i = 0; i < s->norigins && !st; i++)
        if (strcmp(s->origins[i], "*") == 0 && s->norigins > 1)
            st = byron_err_set(err, BYRON_EINVAL, "auth.allowedOrigins: \"*\" must be the only entry");
    return st;
}

static int field_matchable(const byron_model_t *m, const char *field) {
    if (strcmp(field, "id") == 0) return 1;
    const byron_field_t *f = byron_model_field(m, field);
    return f && f->kind != BYRON_TYPE_JSON;
}

static byron_status_t parse_conds(json_object *ro, const char *path, rule_t *r, byron_err_t *err) {
    static const char *const KEYS[] = {"claim", "equals", "anyOf", NULL};
    json_object *arr = NULL;
    byron_status_t st = byron_json_get_array(ro, path, "claims", BYRON_JSON_OPTIONAL, &arr, err);
    if (st != BYRON_OK || !arr) return st;
    size_t n = json_object_array_length(arr);
    if (n > MAX_CONDS)
        return byron_err_set(err, BYRON_EINVAL, "%s.claims: at most %d conditions", path, MAX_CONDS);
    for (size_t i = 0; i < n; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s.claims[%zu]", path, i);
        json_object *co = json_object_array_get_idx(arr, i), *eq = NULL, *any = NULL;
        const char *claim;
        if (!json_object_is_type(co, json_type_object))
            return byron_err_set(err, BYRON_EINVAL, "%s: must be an object", p);
        if ((st = byron_json_check_keys(co, p, KEYS, err)) ||
            (st = byron_json_get_string(co, p, "claim", 0, &claim, err)))
            return st;
        if (!is_claim_path(claim))
            return byron_err_set(err, BYRON_EINVAL, "%s.claim: \"%.64s\" is not a claim path (a.b.c)", p,
                                 claim);
        int has_eq = json_object_object_get_ex(co, "equals", &eq),
            has_any = json_object_object_get_ex(co, "anyOf", &any);
        if (has_eq == has_any)
            return byron_err_set(err, BYRON_EINVAL, "%s: needs exactly one of equals or anyOf", p);
        if (has_eq && !is_scalar(eq))
            return byron_err_set(err, BYRON_EINVAL, "%s.equals: must be a string, number or boolean", p);
        if (has_any) {
            size_t m = json_object_is_type(any, json_type_array) ? json_object_array_length(any) : 0;
            if (m == 0 || m > MAX_CLAIM_VALUES)
                return byron_err_set(err, BYRON_EINVAL, "%s.anyOf: must be an array of 1 to %d values", p,
                                     MAX_CLAIM_VALUES);
            for (size_t k = 0; k < m; k++)
                if (!is_scalar(json_object_array_get_idx(any, k)))
                    return byron_err_set(err, BYRON_EINVAL,
                                         "%s.anyOf[%zu]: must be a string, number or boolean", p, k);
        }
        cond_t *c = &r->conds[r->nconds++];
        c->any_of = has_any;
        /* A copy of our own: the parsed config is freed after parsing. */
        const char *text = byron_json_compact(has_eq ? eq : any);
        byron_err_t perr;
        if (!(c->claim = strdup(claim)) ||
            byron_json_parse(text, strlen(text), 4, &c->want, &perr) != BYRON_OK)
            return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    return BYRON_OK;
}

static byron_status_t parse_matches(const byron_access_t *a, json_object *ro, const char *path, rule_t *r,
                                    byron_err_t *err) {
    static const char *const KEYS[] = {"field", "claim", NULL};
    json_object *arr = NULL;
    byron_status_t st = byron_json_get_array(ro, path, "match", BYRON_JSON_OPTIONAL, &arr, err);
    if (st != BYRON_OK || !arr) return st;
    size_t n = json_object_array_length(arr);
    if (n == 0 || n > MAX_CONDS)
        return byron_err_set(err, BYRON_EINVAL, "%s.match: must hold 1 to %d entries", path, MAX_CONDS);
    for (size_t i = 0; i < n; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s.match[%zu]", path, i);
        json_object *mo = json_object_array_get_idx(arr, i);
        const char *field, *claim;
        if (!json_object_is_type(mo, json_type_object))
            return byron_err_set(err, BYRON_EINVAL, "%s: must be an object", p);
        if ((st = byron_json_check_keys(mo, p, KEYS, err)) ||
            (st = byron_json_get_string(mo, p, "field", 0, &field, err)) ||
            (st = byron_json_get_string(mo, p, "claim", 0, &claim, err)))
            return st;
        if (!is_claim_path(claim))
            return byron_err_set(err, BYRON_EINVAL, "%s.claim: \"%.64s\" is not a claim path (a.b.c)", p,
                                 claim);
        for (size_t k = 0; k < r->nops; k++) {
            const byron_model_t *m = a->ops[r->ops[k]].model;
            if (!m || !field_matchable(m, field))
                return byron_err_set(
                    err, BYRON_EINVAL,
                    "%s.field: %s has no field \"%.64s\" to match (JSON fields cannot be matched)", p,
                    m ? m->name : "?", field);
        }
        match_t *mt = &r->matches[r->nmatches++];
        if (!(mt->field = strdup(field)) || !(mt->claim = strdup(claim)))
            return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    return BYRON_OK;
}

static byron_status_t parse_rule(byron_access_t *a, json_object *ro, const char *path, rule_t *r,
                                 byron_err_t *err) {
    static const char *const KEYS[] = {"operations", "anonymous", "claims", "match", "description", NULL};
    byron_status_t st;
    json_object *ops = NULL;
    if (!json_object_is_type(ro, json_type_object))
        return byron_err_set(err, BYRON_EINVAL, "%s: must be an object", path);
    if ((st = byron_json_check_keys(ro, path, KEYS, err)) ||
        (st = byron_json_get_array(ro, path, "operations", 0, &ops, err)) ||
        (st = byron_json_get_bool(ro, path, "anonymous", BYRON_JSON_OPTIONAL, &r->anonymous, err)))
        return st;
    size_t n = json_object_array_length(ops);
    if (n == 0)
        return byron_err_set(err, BYRON_EINVAL, "%s.operations: must name at least one operation", path);
    if (!(r->ops = calloc(a->nops + n, sizeof *r->ops)))
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(ops, i);
        const char *name = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        if (name && strcmp(name, "*") == 0) {
            for (size_t k = 0; k < a->nops; k++) r->ops[r->nops++] = k;
            continue;
        }
        long k = name ? find_op(a, name) : -1;
        if (k < 0)
            return byron_err_set(err, BYRON_EINVAL,
                                 "%s.operations[%zu]: \"%.64s\" is not an operation of this component", path,
                                 i, name ? name : "");
        r->ops[r->nops++] = (size_t)k;
    }
    if ((st = parse_conds(ro, path, r, err)) || (st = parse_matches(a, ro, path, r, err))) return st;
    if (r->anonymous && (r->nconds || r->nmatches))
        return byron_err_set(err, BYRON_EINVAL, "%s: an anonymous rule cannot test claims or match rows",
                             path);
    return BYRON_OK;
}

byron_status_t byron_access_parse(const byron_component_t *c, json_object *auth, byron_access_t **out,
                                  byron_err_t *err) {
    static const char *const KEYS[] = {"issuer",           "audiences",      "jwksURL", "algorithms",
                                       "clockSkewSeconds", "allowedOrigins", "rules",   NULL};
    *out = NULL;
    byron_access_t *a = calloc(1, sizeof *a);
    if (!a) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    a->settings.skew_s = BYRON_ACCESS_DEFAULT_SKEW_S;
    a->settings.algorithms = BYRON_ALG_ALL;
    byron_status_t st = build_ops(a, c, err);
    if (st != BYRON_OK || !auth) goto done;
    if (!json_object_is_type(auth, json_type_object)) {
        st = byron_err_set(err, BYRON_EINVAL, "auth: must be an object");
        goto done;
    }
    json_object *rules = NULL;
    if ((st = byron_json_check_keys(auth, "auth", KEYS, err)) || (st = parse_settings(a, auth, err)) ||
        (st = byron_json_get_array(auth, "auth", "rules", BYRON_JSON_OPTIONAL, &rules, err)) || !rules)
        goto done;
    size_t n = json_object_array_length(rules);
    if (n > BYRON_ACCESS_MAX_RULES) {
        st = byron_err_set(err, BYRON_EINVAL, "auth.rules: at most %d rules", BYRON_ACCESS_MAX_RULES);
        goto done;
    }
    if (n && !(a->rules = calloc(n, sizeof *a->rules))) {
        st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && !st; i++) {
        char p[64];
        snprintf(p, sizeof p, "auth.rules[%zu]", i);
        a->nrules++;
        st = parse_rule(a, json_object_array_get_idx(rules, i), p, &a->rules[i], err);
        if (!st && !a->rules[i].anonymous && !a->settings.issuer)
            st = byron_err_set(err, BYRON_EINVAL,
                               "%s: grants verified principals, but auth.issuer is not set", p);
    }
done:
    if (st != BYRON_OK) {
        byron_access_free(a);
        return st;
    }
    *out = a;
    return BYRON_OK;
}

void byron_access_free(byron_access_t *a) {
    if (!a) return;
    for (size_t i = 0; i < a->nrules; i++) {
        rule_t *r = &a->rules[i];
        free(r->ops);
        for (size_t k = 0; k < r->nconds; k++) {
            free(r->conds[k].claim);
            json_object_put(r->conds[k].want);
        }
        for (size_t k = 0; k < r->nmatches; k++) {
            free(r->matches[k].field);
            free(r->matches[k].claim);
        }
    }
    free(a->rules);
    for (size_t i = 0; i < a->nops; i++) free(a->ops[i].name);
    free(a->ops);
    byron_access_settings_t *s = &a->settings;
    free(s->issuer);
    free(s->jwks_url);
    byron_json_strings_free(s->audiences, s->naudiences);
    byron_json_strings_free(s->origins, s->norigins);
    free(a);
}

const byron_access_settings_t *byron_access_settings(const byron_access_t *a) { return &a->settings; }

int byron_access_origin_allowed(const byron_access_t *a, const char *origin) {
    if (!origin || !*origin) return 0;
    for (size_t i = 0; i < a->settings.norigins; i++)
        if (strcmp(a->settings.origins[i], "*") == 0 || strcmp(a->settings.origins[i], origin) == 0) return 1;
    return 0;
}

/* ------------------------------------------------------------------ decisions */

static int scalar_eq(json_object *x, json_object *y) {
    json_type tx = json_object_get_type(x), ty = json_object_get_type(y);
    int nx = tx == json_type_int || tx == json_type_double,
        ny = ty == json_type_int || ty == json_type_double;
    if (nx && ny) return json_object_get_double(x) == json_object_get_double(y);
    if (tx != ty) return 0;
    if (tx == json_type_string) return strcmp(json_object_get_string(x), json_object_get_string(y)) == 0;
    if (tx == json_type_boolean) return json_object_get_boolean(x) == json_object_get_boolean(y);
    return 0;
}

/* Whether v (a scalar, or an array of them: any element) equals one of `want` (a scalar or an array). */
static int value_in(json_object *v, json_object *want) {
    size_t nv = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;
    size_t nw = json_object_is_type(want, json_type_array) ? json_object_array_length(want) : 1;
    for (size_t i = 0; i < nv && i < 1024; i++) {
        json_object *e = json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i) : v;
        if (!e || !is_scalar(e)) continue;
        for (size_t k = 0; k < nw; k++)
            if (scalar_eq(e, json_object_is_type(want, json_type_array) ? json_object_array_get_idx(want, k)
                                                                        : want))
                return 1;
    }
    return 0;
}

static int rule_grants(const rule_t *r, const byron_principal_t *p) {
    if (r->anonymous) return 1;
    if (p->kind != BYRON_PRINCIPAL_USER) return 0;
    for (size_t i = 0; i < r->nconds; i++) {
        json_object *v = byron_principal_claim(p, r->conds[i].claim);
        if (!v || !value_in(v, r->conds[i].want)) return 0;
    }
    return 1;
}

/* {"field": [allowed values]} for one granting rule's matches. */
static json_object *rule_rows(const rule_t *r, const byron_principal_t *p) {
    json_object *alt = json_object_new_object();
    for (size_t i = 0; i < r->nmatches; i++) {
        json_object *v = byron_principal_claim(p, r->matches[i].claim), *vals = NULL;
        if (!json_object_object_get_ex(alt, r->matches[i].field, &vals)) {
            vals = json_object_new_array();
            json_object_object_add(alt, r->matches[i].field, vals);
        } else {
            /* Two matches on one field: both must hold, so keep the intersection. */
            json_object *keep = json_object_new_array();
            for (size_t k = 0; v && k < json_object_array_length(vals); k++)
                if (value_in(json_object_array_get_idx(vals, k), v))
                    json_object_array_add(keep, json_object_get(json_object_array_get_idx(vals, k)));
            json_object_object_add(alt, r->matches[i].field, keep);
            continue;
        }
        size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : (v ? 1 : 0);
        for (size_t k = 0; k < n && k < MAX_CLAIM_VALUES; k++) {
            json_object *e = json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, k) : v;
            if (e && is_scalar(e)) json_object_array_add(vals, json_object_get(e));
        }
    }
    return alt;
}

byron_access_decision_t byron_access_check(const byron_access_t *a, const char *operation,
                                           const byron_principal_t *p, byron_access_rows_t *rows) {
    if (rows) rows->alts = NULL;
    if (p->kind == BYRON_PRINCIPAL_APP) return BYRON_ACCESS_ALLOW;
    long op = a ? find_op(a, operation) : -1;
    if (op < 0)
        return p->kind == BYRON_PRINCIPAL_USER ? BYRON_ACCESS_FORBIDDEN : BYRON_ACCESS_UNAUTHENTICATED;
    int granted = 0, all_rows = 0;
    json_object *alts = NULL;
    for (size_t i = 0; i < a->nrules && !all_rows; i++) {
        const rule_t *r = &a->rules[i];
        int names = 0;
        for (size_t k = 0; k < r->nops && !names; k++) names = r->ops[k] == (size_t)op;
        if (!names || !rule_grants(r, p)) continue;
        granted = 1;
        if (r->nmatches == 0) {
            all_rows = 1;
        } else if (rows) {
            if (!alts) alts = json_object_new_array();
            json_object_array_add(alts, rule_rows(r, p));
        }
    }
    if (!granted) {
        json_object_put(alts);
        return p->kind == BYRON_PRINCIPAL_USER ? BYRON_ACCESS_FORBIDDEN : BYRON_ACCESS_UNAUTHENTICATED;
    }
    if (all_rows)
        json_object_put(alts);
    else if (rows)
        rows->alts = alts;
    return BYRON_ACCESS_ALLOW;
}

void byron_access_rows_cleanup(byron_access_rows_t *rows) {
    if (!rows) return;
    json_object_put(rows->alts);
    rows->alts = NULL;
}

int byron_access_rows_all(const byron_access_rows_t *rows) { return !rows || !rows->alts; }

int byron_access_rows_match(const byron_access_rows_t *rows, json_object *obj) {
    if (byron_access_rows_all(rows)) return 1;
    if (!json_object_is_type(obj, json_type_object)) return 0;
    for (size_t i = 0; i < json_object_array_length(rows->alts); i++) {
        int ok = 1;
        json_object_object_foreach(json_object_array_get_idx(rows->alts, i), field, vals) {
            json_object *v = NULL;
            if (!json_object_object_get_ex(obj, field, &v) || !v || !value_in(v, vals)) {
                ok = 0;
                break;
            }
        }
        if (ok) return 1;
    }
    return 0;
}

int byron_access_rows_input_ok(const byron_access_rows_t *rows, json_object *input, int require_all) {
    if (byron_access_rows_all(rows)) return 1;
    for (size_t i = 0; i < json_object_array_length(rows->alts); i++) {
        int ok = 1;
        json_object_object_foreach(json_object_array_get_idx(rows->alts, i), field, vals) {
            json_object *v = NULL;
            int has = input && json_object_object_get_ex(input, field, &v) && v;
            if ((has && !value_in(v, vals)) || (!has && require_all)) {
                ok = 0;
                break;
            }
        }
        if (ok) return 1;
    }
    return 0;
}

json_object *byron_access_rows_filter(const byron_access_rows_t *rows) {
    if (byron_access_rows_all(rows)) return NULL;
    json_object *ors = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(rows->alts); i++) {
        json_object *ands = json_object_new_array();
        json_object_object_foreach(json_object_array_get_idx(rows->alts, i), field, vals) {
            json_object *cond = json_object_new_object(), *in = json_object_new_object();
            json_object_object_add(in, "$in", json_object_get(vals));
            json_object_object_add(cond, strcmp(field, "id") == 0 ? "_id" : field, in);
            json_object_array_add(ands, cond);
        }
        json_object *alt = json_object_new_object();
        json_object_object_add(alt, "$and", ands);
        json_object_array_add(ors, alt);
    }
    json_object *f = json_object_new_object();
    json_object_object_add(f, "$or", ors);
    return f;
}
