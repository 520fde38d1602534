/*
 * sdl.c — prints a schema as SDL (spec 3): the schema definition when root
 * names are not the defaults, then every user type in definition order with
 * descriptions as block strings, arguments, defaults and @deprecated.
 * Built-in scalars, built-in directives and introspection types are omitted,
 * as graphql-js printSchema() does.
 */
#include "byron/buf.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The SDL text so far; oom: an append failed, the text is incomplete. */
typedef struct out {
    byron_buf_t b;
    bool oom;
} out_t;

static void put(out_t *o, const char *s) {
    if (byron_buf_append(&o->b, s, strlen(s)) != 0) o->oom = true;
}

static void description(out_t *o, const char *desc, const char *indent) {
    if (desc == NULL) return;
    put(o, indent);
    if (strchr(desc, '\n') == NULL && strlen(desc) < 70 && strchr(desc, '"') == NULL &&
        strchr(desc, '\\') == NULL) {
        put(o, "\"");
        put(o, desc);
        put(o, "\"\n");
        return;
    }
    put(o, "\"\"\"\n");
    put(o, indent);
    for (const char *p = desc; *p; p++) {
        if (p[0] == '"' && p[1] == '"' && p[2] == '"') {
            put(o, "\\\"\"\"");
            p += 2;
        } else if (*p == '\n') {
            put(o, "\n");
            put(o, indent);
        } else {
            char c[2] = {*p, 0};
            put(o, c);
        }
    }
    put(o, "\n");
    put(o, indent);
    put(o, "\"\"\"\n");
}

static void deprecated(out_t *o, const char *reason) {
    if (reason == NULL) return;
    if (strcmp(reason, "No longer supported") == 0) {
        put(o, " @deprecated");
        return;
    }
    json_object *s = json_object_new_string(reason);
    put(o, " @deprecated(reason: ");
    put(o, json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    put(o, ")");
    json_object_put(s);
}

static void input_value(out_t *o, const byron_graphql_field_t *a) {
    char tb[256];
    put(o, a->name);
    put(o, ": ");
    put(o, gql_type_str(a->type, tb, sizeof(tb)));
    if (a->default_literal) {
        put(o, " = ");
        put(o, a->default_literal);
    }
    deprecated(o, a->deprecation);
}

static void args(out_t *o, const byron_graphql_field_t *list) {
    if (list == NULL) return;
    bool described = false;
    for (const byron_graphql_field_t *a = list; a; a = a->next) described |= a->description != NULL;
    put(o, "(");
    for (const byron_graphql_field_t *a = list; a; a = a->next) {
        if (described) {
            put(o, "\n");
            description(o, a->description, "    ");
            put(o, "    ");
        } else if (a != list) {
            put(o, ", ");
        }
        input_value(o, a);
    }
    put(o, described ? "\n  )" : ")");
}

static bool builtin(const byron_graphql_type_t *t) {
    static const char *const names[] = {"Int", "Float", "String", "Boolean", "ID", NULL};
    if (strncmp(t->name, "__", 2) == 0) return true;
    for (int i = 0; names[i]; i++)
        if (strcmp(t->name, names[i]) == 0) return true;
    return false;
}

/* `schema { query: Q ... }`, printed only when a root is not named as the
 * spec's defaults are. */
static void schema_definition(out_t *o, const byron_graphql_schema_t *s) {
    bool custom_roots = (s->query && strcmp(s->query->name, "Query") != 0) ||
                        (s->mutation && strcmp(s->mutation->name, "Mutation") != 0) ||
                        (s->subscription && strcmp(s->subscription->name, "Subscription") != 0);
    if (!custom_roots) return;
    put(o, "schema {\n");
    const byron_graphql_type_t *roots[] = {s->query, s->mutation, s->subscription};
    const char *names[] = {"query", "mutation", "subscription"};
    for (int i = 0; i < 3; i++)
        if (roots[i]) {
            put(o, "  ");
            put(o, names[i]);
            put(o, ": ");
            put(o, roots[i]->name);
            put(o, "\n");
        }
    put(o, "}\n\n");
}

static void scalar_type(out_t *o, const byron_graphql_type_t *t) {
    put(o, "scalar ");
    put(o, t->name);
    if (t->specified_by) {
        json_object *u = json_object_new_string(t->specified_by);
        put(o, " @specifiedBy(url: ");
        put(o, json_object_to_json_string_ext(u, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        put(o, ")");
        json_object_put(u);
    }
    put(o, "\n\n");
}

static void enum_type(out_t *o, const byron_graphql_type_t *t) {
    put(o, "enum ");
    put(o, t->name);
    put(o, " {\n");
    for (const gql_enum_value_t *v = t->values; v; v = v->next) {
        description(o, v->description, "  ");
        put(o, "  ");
        put(o, v->name);
        deprecated(o, v->deprecation);
        put(o, "\n");
    }
    put(o, "}\n\n");
}

/* `type` or `input`, with its fields (an object's with their arguments). */
static void object_type(out_t *o, const byron_graphql_type_t *t) {
    put(o, t->kind == BYRON_GRAPHQL_OBJECT ? "type " : "input ");
    put(o, t->name);
    put(o, " {\n");
    for (const byron_graphql_field_t *f = t->fields; f; f = f->next) {
        char tb[256];
        description(o, f->description, "  ");
        put(o, "  ");
        if (t->kind == BYRON_GRAPHQL_INPUT_OBJECT) {
            input_value(o, f);
        } else {
            put(o, f->name);
            args(o, f->args);
            put(o, ": ");
            put(o, gql_type_str(f->type, tb, sizeof(tb)));
            deprecated(o, f->deprecation);
        }
        put(o, "\n");
    }
    put(o, "}\n\n");
}

char *byron_graphql_schema_print(const byron_graphql_schema_t *s) {
    out_t o = {0};
    schema_definition(&o, s);
    for (const byron_graphql_type_t *t = s->types; t; t = t->next) {
        if (builtin(t)) continue;
        description(&o, t->description, "");
        switch (t->kind) {
        case BYRON_GRAPHQL_SCALAR: scalar_type(&o, t); break;
        case BYRON_GRAPHQL_ENUM: enum_type(&o, t); break;
        case BYRON_GRAPHQL_OBJECT:
        case BYRON_GRAPHQL_INPUT_OBJECT: object_type(&o, t); break;
        default: break;
        }
    }
    if (o.oom) {
        byron_buf_free(&o.b);
        return NULL;
    }
    /* One trailing newline, not two. */
    char *p = o.b.buf;
    if (o.b.len >= 2 && p[o.b.len - 1] == '\n' && p[o.b.len - 2] == '\n') p[--o.b.len] = '\0';
    if (p == NULL) return strdup("");
    return p;
}
