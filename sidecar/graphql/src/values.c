/*
 * values.c — input coercion (spec 3.5 scalars, 3.9 enums, 3.10 input
 * objects, 3.11 lists, 3.12 non-null, 6.1.2 variables, 6.4.1 arguments) for
 * JSON variable values and AST literals, and printing JSON as GraphQL
 * literals for introspection's defaultValue and the SDL printer.
 */
#include "byron/buf.h"
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static const char *jstr(json_object *v) {
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int gql_double_text(double d, char buf[40]) {
    if (!isfinite(d)) return -1; /* JSON has no Infinity/NaN */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    /* Keep it recognisably a float for clients that care: 2 → 2.0. */
    size_t n = strlen(buf);
    if (strspn(buf, "-0123456789") == n && n + 2 < 40) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return (int)n;
}

json_object *gql_json_double(double d) {
    char buf[40];
    if (gql_double_text(d, buf) < 0) return NULL; /* null */
    return json_object_new_double_s(d, buf);
}

static bool digits(const char *s, int n) {
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* RFC 3339 date-time: 2024-01-31T12:00:00(.123)?(Z|+01:00). */
static bool is_datetime(const char *s) {
    size_t n = strlen(s);
    if (n < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
        s[16] != ':' || !digits(s + 17, 2))
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return false;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'Z' || *p == 'z') return p[1] == '\0';
    if (*p == '+' || *p == '-') return digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2) && p[6] == '\0';
    return false;
}

static int coerce_scalar_json(const byron_graphql_type_t *t, json_object *in, json_object **out, char *err,
                              size_t errlen) {
    const char *n = t->name;
    json_type jt = json_object_get_type(in);
    if (strcmp(n, "Int") == 0) {
        if (jt == json_type_int) {
            int64_t v = json_object_get_int64(in);
            if (v < INT32_MIN || v > INT32_MAX)
                return ERR("Int cannot represent non 32-bit signed integer value: %s", jstr(in));
            *out = json_object_new_int((int32_t)v);
            return 0;
        }
        if (jt == json_type_double) {
            double d = json_object_get_double(in);
            if (d != floor(d) || !isfinite(d))
                return ERR("Int cannot represent non-integer value: %s", jstr(in));
            if (d < INT32_MIN || d > INT32_MAX)
                return ERR("Int cannot represent non 32-bit signed integer value: %s", jstr(in));
            *out = json_object_new_int((int32_t)d);
            return 0;
        }
        return ERR("Int cannot represent non-integer value: %s", jstr(in));
    }
    if (strcmp(n, "Float") == 0) {
        if (jt == json_type_int || jt == json_type_double) {
            double d = json_object_get_double(in);
            if (!isfinite(d)) return ERR("Float cannot represent non numeric value: %s", jstr(in));
            *out = jt == json_type_int ? gql_json_double(d) : json_object_get(in);
            return 0;
        }
        return ERR("Float cannot represent non numeric value: %s", jstr(in));
    }
    if (strcmp(n, "String") == 0) {
        if (jt != json_type_string) return ERR("String cannot represent a non string value: %s", jstr(in));
        *out = json_object_get(in);
        return 0;
    }
    if (strcmp(n, "Boolean") == 0) {
        if (jt != json_type_boolean) return ERR("Boolean cannot represent a non boolean value: %s", jstr(in));
        *out = json_object_get(in);
        return 0;
    }
    if (strcmp(n, "ID") == 0) {
        if (jt == json_type_string) {
            *out = json_object_get(in);
            return 0;
        }
        if (jt == json_type_int) {
            *out = json_object_new_string(jstr(in));
            return 0;
        }
        return ERR("ID cannot represent value: %s", jstr(in));
    }
    if (strcmp(n, "DateTime") == 0) {
        if (jt != json_type_string || !is_datetime(json_object_get_string(in)))
            return ERR("DateTime cannot represent value: %s (expected an RFC 3339 date-time "
                       "string such as \"2024-01-31T12:00:00Z\")",
                       jstr(in));
        *out = json_object_get(in);
        return 0;
    }
    /* JSON and any other custom scalar: taken as is. */
    *out = json_object_get(in);
    return 0;
}

/* graphql-js's wording: got invalid value <v> [at "p.x[1]"]; <reason>. The
 * path is shown only below the variable itself. */
static int json_fail(char *err, size_t errlen, const char *path, json_object *in, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int json_fail(char *err, size_t errlen, const char *path, json_object *in, const char *fmt, ...) {
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    bool nested = strpbrk(path, ".[") != NULL;
    snprintf(err, errlen, "got invalid value %.200s%s%s%s; %s", in ? jstr(in) : "null",
             nested ? " at \"" : "", nested ? path : "", nested ? "\"" : "", reason);
    return -1;
}

/* A list value: a JSON array item by item, or one value as a list of one. */
static int coerce_json_list(const byron_graphql_type_t *type, json_object *in, json_object **out, char *err,
                            size_t errlen, const char *path) {
    json_object *arr = json_object_new_array();
    if (json_object_get_type(in) != json_type_array) {
        json_object *item = NULL;
        if (gql_coerce_json(type->of, in, &item, err, errlen, path) < 0) {
            json_object_put(arr);
            return -1;
        }
        json_object_array_add(arr, item);
        *out = arr;
        return 0;
    }
    size_t n = json_object_array_length(in);
    for (size_t i = 0; i < n; i++) {
        char sub[300];
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        json_object *item = NULL;
        if (gql_coerce_json(type->of, json_object_array_get_idx(in, i), &item, err, errlen, sub) < 0) {
            json_object_put(arr);
            return -1;
        }
        json_object_array_add(arr, item);
    }
    *out = arr;
    return 0;
}

/* An input object: no unknown fields, each field coerced or defaulted, the
 * required ones present. */
static int coerce_json_object(const byron_graphql_type_t *type, json_object *in, json_object **out, char *err,
                              size_t errlen, const char *path) {
    char tbuf[256];
    if (json_object_get_type(in) != json_type_object)
        return json_fail(err, errlen, path, in, "Expected type \"%s\" to be an object.", type->name);
    json_object_object_foreach(in, key, val) {
        (void)val;
        if (gql_type_field(type, key) == NULL)
            return json_fail(err, errlen, path, in, "Field \"%s\" is not defined by type \"%s\".", key,
                             type->name);
    }
    json_object *obj = json_object_new_object();
    for (const byron_graphql_field_t *f = type->fields; f; f = f->next) {
        char sub[300];
        snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
        json_object *v = NULL;
        if (json_object_object_get_ex(in, f->name, &v)) {
            json_object *c = NULL;
            if (gql_coerce_json(f->type, v, &c, err, errlen, sub) < 0) {
                json_object_put(obj);
                return -1;
            }
            json_object_object_add(obj, f->name, c);
        } else if (f->default_json) {
            json_object_object_add(obj, f->name, gql_field_default_new(f));
        } else if (f->type->kind == BYRON_GRAPHQL_NON_NULL) {
            json_object_put(obj);
            return json_fail(err, errlen, path, in, "Field \"%s\" of required type \"%s\" was not provided.",
                             f->name, gql_type_str(f->type, tbuf, sizeof(tbuf)));
        }
    }
    *out = obj;
    return 0;
}

int gql_coerce_json(const byron_graphql_type_t *type, json_object *in, json_object **out, char *err,
                    size_t errlen, const char *path) {
    char tbuf[256];
    *out = NULL;
    if (in == NULL || json_object_get_type(in) == json_type_null) {
        if (type->kind == BYRON_GRAPHQL_NON_NULL)
            return json_fail(err, errlen, path, in, "Expected non-nullable type \"%s\" not to be null.",
                             gql_type_str(type, tbuf, sizeof(tbuf)));
        return 0;
    }
    if (type->kind == BYRON_GRAPHQL_NON_NULL) type = type->of;
    switch (type->kind) {
    case BYRON_GRAPHQL_LIST: return coerce_json_list(type, in, out, err, errlen, path);
    case BYRON_GRAPHQL_INPUT_OBJECT: return coerce_json_object(type, in, out, err, errlen, path);
    case BYRON_GRAPHQL_ENUM:
        if (json_object_get_type(in) != json_type_string)
            return json_fail(err, errlen, path, in, "Enum \"%s\" cannot represent non-string value: %s.",
                             type->name, jstr(in));
        if (gql_enum_value(type, json_object_get_string(in)) == NULL)
            return json_fail(err, errlen, path, in, "Value %s does not exist in \"%s\" enum.", jstr(in),
                             type->name);
        *out = json_object_get(in);
        return 0;
    case BYRON_GRAPHQL_SCALAR: {
        char msg[300];
        if (coerce_scalar_json(type, in, out, msg, sizeof(msg)) < 0)
            return json_fail(err, errlen, path, in, "%s", msg);
        return 0;
    }
    default: return json_fail(err, errlen, path, in, "\"%s\" is not an input type.", type->name);
    }
}

json_object *gql_value_to_json(const gql_value_t *v, json_object *vars) {
    switch (v->kind) {
    case GQL_V_VARIABLE: {
        json_object *x = NULL;
        if (vars && json_object_object_get_ex(vars, v->str, &x)) return json_object_get(x);
        return NULL;
    }
    case GQL_V_INT: {
        errno = 0;
        long long n = strtoll(v->str, NULL, 10);
        if (errno == 0) return json_object_new_int64(n);
        return gql_json_double(strtod(v->str, NULL));
    }
    case GQL_V_FLOAT: return gql_json_double(strtod(v->str, NULL));
    case GQL_V_STRING: return json_object_new_string_len(v->str, (int)v->str_len);
    case GQL_V_BOOLEAN: return json_object_new_boolean(v->boolean);
    case GQL_V_NULL: return NULL;
    case GQL_V_ENUM: return json_object_new_string(v->str);
    case GQL_V_LIST: {
        json_object *a = json_object_new_array();
        for (const gql_value_t *i = v->items; i; i = i->next)
            json_object_array_add(a, gql_value_to_json(i, vars));
        return a;
    }
    case GQL_V_OBJECT: {
        json_object *o = json_object_new_object();
        for (const gql_value_t *i = v->items; i; i = i->next)
            json_object_object_add(o, i->name, gql_value_to_json(i, vars));
        return o;
    }
    }
    return NULL;
}

static const char *value_desc(const gql_value_t *v, char *buf, size_t n) {
    switch (v->kind) {
    case GQL_V_VARIABLE: snprintf(buf, n, "$%s", v->str); break;
    case GQL_V_INT:
    case GQL_V_FLOAT:
    case GQL_V_ENUM: snprintf(buf, n, "%.60s", v->str); break;
    case GQL_V_STRING: snprintf(buf, n, "\"%.60s\"", v->str); break;
    case GQL_V_BOOLEAN: snprintf(buf, n, "%s", v->boolean ? "true" : "false"); break;
    case GQL_V_NULL: snprintf(buf, n, "null"); break;
    case GQL_V_LIST: snprintf(buf, n, "[...]"); break;
    case GQL_V_OBJECT: snprintf(buf, n, "{...}"); break;
    }
    return buf;
}

static int coerce_scalar_literal(const byron_graphql_type_t *t, const gql_value_t *v, json_object *vars,
                                 json_object **out, char *err, size_t errlen) {
    const char *n = t->name;
    char d[80];
    if (strcmp(n, "Int") == 0) {
        if (v->kind != GQL_V_INT)
            return ERR("Int cannot represent non-integer value: %s", value_desc(v, d, sizeof(d)));
        errno = 0;
        long long x = strtoll(v->str, NULL, 10);
        if (errno || x < INT32_MIN || x > INT32_MAX)
            return ERR("Int cannot represent non 32-bit signed integer value: %s", v->str);
        *out = json_object_new_int((int32_t)x);
        return 0;
    }
    if (strcmp(n, "Float") == 0) {
        if (v->kind != GQL_V_INT && v->kind != GQL_V_FLOAT)
            return ERR("Float cannot represent non numeric value: %s", value_desc(v, d, sizeof(d)));
        double x = strtod(v->str, NULL);
        if (!isfinite(x)) return ERR("Float cannot represent non numeric value: %s", v->str);
        *out = gql_json_double(x);
        return 0;
    }
    if (strcmp(n, "String") == 0) {
        if (v->kind != GQL_V_STRING)
            return ERR("String cannot represent a non string value: %s", value_desc(v, d, sizeof(d)));
        *out = json_object_new_string_len(v->str, (int)v->str_len);
        return 0;
    }
    if (strcmp(n, "Boolean") == 0) {
        if (v->kind != GQL_V_BOOLEAN)
            return ERR("Boolean cannot represent a non boolean value: %s", value_desc(v, d, sizeof(d)));
        *out = json_object_new_boolean(v->boolean);
        return 0;
    }
    if (strcmp(n, "ID") == 0) {
        if (v->kind != GQL_V_STRING && v->kind != GQL_V_INT)
            return ERR("ID cannot represent a non-string and non-integer value: %s",
                       value_desc(v, d, sizeof(d)));
        *out = json_object_new_string_len(v->str, (int)v->str_len);
        return 0;
    }
    if (strcmp(n, "DateTime") == 0) {
        if (v->kind != GQL_V_STRING || !is_datetime(v->str))
            return ERR("DateTime cannot represent value: %s (expected an RFC 3339 date-time "
                       "string)",
                       value_desc(v, d, sizeof(d)));
        *out = json_object_new_string_len(v->str, (int)v->str_len);
        return 0;
    }
    *out = gql_value_to_json(v, vars);
    return 0;
}

/* A list literal item by item (a variable not provided is an error for a
 * non-null item), or one literal as a list of one. */
static int coerce_literal_list(const byron_graphql_type_t *type, const gql_value_t *v, json_object *vars,
                               json_object **out, char *err, size_t errlen) {
    char tbuf[256];
    json_object *arr = json_object_new_array();
    if (v->kind != GQL_V_LIST) {
        json_object *item = NULL;
        int r = gql_coerce_literal(type->of, v, vars, &item, err, errlen);
        if (r < 0) {
            json_object_put(arr);
            return -1;
        }
        json_object_array_add(arr, item);
        *out = arr;
        return 0;
    }
    for (const gql_value_t *i = v->items; i; i = i->next) {
        json_object *item = NULL;
        int r = gql_coerce_literal(type->of, i, vars, &item, err, errlen);
        if (r < 0) {
            json_object_put(arr);
            return -1;
        }
        if (r == 1 && type->of->kind == BYRON_GRAPHQL_NON_NULL) {
            json_object_put(arr);
            return ERR("Variable \"$%s\" of required type \"%s\" was not provided.", i->str,
                       gql_type_str(type->of, tbuf, sizeof(tbuf)));
        }
        json_object_array_add(arr, item);
    }
    *out = arr;
    return 0;
}

/* An object literal: no unknown fields, each field coerced or defaulted, the
 * required ones present. */
static int coerce_literal_object(const byron_graphql_type_t *type, const gql_value_t *v, json_object *vars,
                                 json_object **out, char *err, size_t errlen) {
    char tbuf[256];
    if (v->kind != GQL_V_OBJECT)
        return ERR("Expected value of type \"%s\", found %s.", type->name, value_desc(v, tbuf, sizeof(tbuf)));
    for (const gql_value_t *i = v->items; i; i = i->next)
        if (gql_type_field(type, i->name) == NULL)
            return ERR("Field \"%s\" is not defined by type \"%s\".", i->name, type->name);
    json_object *obj = json_object_new_object();
    for (const byron_graphql_field_t *f = type->fields; f; f = f->next) {
        const gql_value_t *fv = NULL;
        for (const gql_value_t *i = v->items; i; i = i->next)
            if (strcmp(i->name, f->name) == 0) fv = i;
        int r = 1;
        json_object *c = NULL;
        if (fv) {
            r = gql_coerce_literal(f->type, fv, vars, &c, err, errlen);
            if (r < 0) {
                json_object_put(obj);
                return -1;
            }
        }
        if (r == 0) {
            json_object_object_add(obj, f->name, c);
        } else if (f->default_json) {
            json_object_object_add(obj, f->name, gql_field_default_new(f));
        } else if (f->type->kind == BYRON_GRAPHQL_NON_NULL) {
            json_object_put(obj);
            return ERR("Field \"%s.%s\" of required type \"%s\" was not provided.", type->name, f->name,
                       gql_type_str(f->type, tbuf, sizeof(tbuf)));
        }
    }
    *out = obj;
    return 0;
}

int gql_coerce_literal(const byron_graphql_type_t *type, const gql_value_t *v, json_object *vars,
                       json_object **out, char *err, size_t errlen) {
    char tbuf[256];
    *out = NULL;
    if (v->kind == GQL_V_VARIABLE) {
        json_object *x = NULL;
        if (vars == NULL || !json_object_object_get_ex(vars, v->str, &x)) return 1;
        if (x == NULL && type->kind == BYRON_GRAPHQL_NON_NULL)
            return ERR("Variable \"$%s\" of non-null type \"%s\" must not be null.", v->str,
                       gql_type_str(type, tbuf, sizeof(tbuf)));
        *out = json_object_get(x);
        return 0;
    }
    if (v->kind == GQL_V_NULL) {
        if (type->kind == BYRON_GRAPHQL_NON_NULL)
            return ERR("Expected value of type \"%s\", found null.", gql_type_str(type, tbuf, sizeof(tbuf)));
        return 0;
    }
    if (type->kind == BYRON_GRAPHQL_NON_NULL) type = type->of;
    switch (type->kind) {
    case BYRON_GRAPHQL_LIST: return coerce_literal_list(type, v, vars, out, err, errlen);
    case BYRON_GRAPHQL_INPUT_OBJECT: return coerce_literal_object(type, v, vars, out, err, errlen);
    case BYRON_GRAPHQL_ENUM:
        if (v->kind != GQL_V_ENUM || gql_enum_value(type, v->str) == NULL) {
            if (v->kind == GQL_V_STRING)
                return ERR("Enum \"%s\" cannot represent non-enum value: \"%s\". Did you mean "
                           "the enum value \"%s\"?",
                           type->name, v->str, v->str);
            return ERR("Value \"%s\" does not exist in \"%s\" enum.", value_desc(v, tbuf, sizeof(tbuf)),
                       type->name);
        }
        *out = json_object_new_string(v->str);
        return 0;
    case BYRON_GRAPHQL_SCALAR: return coerce_scalar_literal(type, v, vars, out, err, errlen);
    default: return ERR("\"%s\" is not an input type.", type->name ? type->name : "?");
    }
}

int gql_coerce_arguments(const byron_graphql_field_t *defs, const gql_argument_t *args, json_object *vars,
                         json_object **out, char *err, size_t errlen) {
    char tbuf[256];
    json_object *obj = json_object_new_object();
    for (const byron_graphql_field_t *d = defs; d; d = d->next) {
        const gql_argument_t *a = NULL;
        for (const gql_argument_t *i = args; i; i = i->next)
            if (strcmp(i->name, d->name) == 0) a = i;
        int r = 1;
        json_object *c = NULL;
        if (a) {
            char msg[400];
            r = gql_coerce_literal(d->type, a->value, vars, &c, msg, sizeof(msg));
            if (r < 0) {
                json_object_put(obj);
                return ERR("Argument \"%s\" has invalid value: %s", d->name, msg);
            }
        }
        if (r == 0) {
            json_object_object_add(obj, d->name, c);
        } else if (d->default_json) {
            json_object_object_add(obj, d->name, gql_field_default_new(d));
        } else if (d->type->kind == BYRON_GRAPHQL_NON_NULL) {
            json_object_put(obj);
            if (a)
                return ERR("Argument \"%s\" of required type \"%s\" was provided the variable "
                           "\"$%s\" which was not provided a runtime value.",
                           d->name, gql_type_str(d->type, tbuf, sizeof(tbuf)), a->value->str);
            return ERR("Argument \"%s\" of required type \"%s\" was not provided.", d->name,
                       gql_type_str(d->type, tbuf, sizeof(tbuf)));
        }
    }
    *out = obj;
    return 0;
}

/* ---------------------------------------------------------------- printing */

/* A literal's text: byron_buf_t, whose failed append keeps what it holds
 * (a literal cut short by an allocation failure is printed as far as it got). */
static void sb_str(byron_buf_t *b, const char *s) { byron_buf_append(b, s, strlen(s)); }

static void print_literal(byron_buf_t *b, const byron_graphql_type_t *t, json_object *v, int depth) {
    const byron_graphql_type_t *nt = gql_type_nullable(t);
    json_type jt = json_object_get_type(v);
    if (depth > 64) {
        sb_str(b, "null");
        return;
    }
    if (jt == json_type_null) {
        sb_str(b, "null");
    } else if (jt == json_type_array) {
        const byron_graphql_type_t *it = nt && nt->kind == BYRON_GRAPHQL_LIST ? nt->of : NULL;
        sb_str(b, "[");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (i) sb_str(b, ", ");
            print_literal(b, it, json_object_array_get_idx(v, i), depth + 1);
        }
        sb_str(b, "]");
    } else if (jt == json_type_object) {
        const byron_graphql_type_t *ot = gql_type_named(nt);
        sb_str(b, "{");
        bool first = true;
        json_object_object_foreach(v, key, val) {
            if (!first) sb_str(b, ", ");
            first = false;
            sb_str(b, key);
            sb_str(b, ": ");
            const byron_graphql_field_t *f =
                ot && ot->kind == BYRON_GRAPHQL_INPUT_OBJECT ? gql_type_field(ot, key) : NULL;
            print_literal(b, f ? f->type : NULL, val, depth + 1);
        }
        sb_str(b, "}");
    } else if (jt == json_type_string && nt && gql_type_named(nt)->kind == BYRON_GRAPHQL_ENUM) {
        sb_str(b, json_object_get_string(v));
    } else {
        /* JSON string escaping is valid GraphQL string syntax. */
        sb_str(b, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    }
}

char *gql_json_to_literal(const byron_graphql_type_t *type, json_object *v) {
    byron_buf_t b = {0};
    print_literal(&b, type, v, 0);
    if (b.buf == NULL) return strdup("null");
    return b.buf;
}
