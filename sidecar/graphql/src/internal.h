/*
 * internal.h — shared internals of the GraphQL engine: the arena, the AST,
 * the schema structures and helpers used across the engine's files. Not
 * installed; nothing outside sidecar/graphql/src includes it.
 */
#ifndef BYRON_GRAPHQL_INTERNAL_H
#define BYRON_GRAPHQL_INTERNAL_H

#include "byron/buf.h"
#include "byron/graphql.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------- arena */

/* A bump allocator: the AST and the schema are built once and freed at once,
 * so nodes are never freed individually. Chunks grow geometrically. */
typedef struct gql_arena_chunk {
    struct gql_arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
} gql_arena_chunk_t;

typedef struct gql_arena {
    gql_arena_chunk_t *head;
} gql_arena_t;

void *gql_arena_alloc(gql_arena_t *a, size_t n); /* zeroed; NULL on OOM */
char *gql_arena_strndup(gql_arena_t *a, const char *s, size_t n);
char *gql_arena_strdup(gql_arena_t *a, const char *s);
void gql_arena_cleanup(gql_arena_t *a);

/* ---------------------------------------------------------------- AST */

typedef struct gql_loc {
    uint32_t line, column;
} gql_loc_t;

typedef enum gql_value_kind {
    GQL_V_VARIABLE,
    GQL_V_INT,
    GQL_V_FLOAT,
    GQL_V_STRING,
    GQL_V_BOOLEAN,
    GQL_V_NULL,
    GQL_V_ENUM,
    GQL_V_LIST,
    GQL_V_OBJECT,
} gql_value_kind_t;

typedef struct gql_value {
    gql_value_kind_t kind;
    gql_loc_t loc;
    const char *str; /* INT/FLOAT raw text, STRING content, ENUM, VARIABLE name */
    size_t str_len;  /* STRING byte length (may hold NUL via \u0000) */
    bool boolean;
    struct gql_value *items; /* LIST items / OBJECT field values (name in `name`) */
    const char *name;        /* OBJECT field name of this value */
    gql_loc_t name_loc;
    struct gql_value *next;
} gql_value_t;

typedef enum gql_typeref_kind { GQL_T_NAMED, GQL_T_LIST, GQL_T_NON_NULL } gql_typeref_kind_t;

typedef struct gql_typeref {
    gql_typeref_kind_t kind;
    const char *name;
    struct gql_typeref *of;
    gql_loc_t loc;
} gql_typeref_t;

typedef struct gql_argument {
    const char *name;
    gql_value_t *value;
    gql_loc_t loc;
    struct gql_argument *next;
} gql_argument_t;

typedef struct gql_directive {
    const char *name;
    gql_argument_t *args;
    gql_loc_t loc;
    struct gql_directive *next;
} gql_directive_t;

typedef enum gql_selection_kind { GQL_S_FIELD, GQL_S_SPREAD, GQL_S_INLINE } gql_selection_kind_t;

typedef struct gql_selection {
    gql_selection_kind_t kind;
    gql_loc_t loc;
    const char *alias;    /* FIELD, may be NULL */
    const char *name;     /* FIELD name, SPREAD fragment name */
    gql_argument_t *args; /* FIELD */
    gql_directive_t *directives;
    const char *type_condition; /* INLINE, may be NULL */
    gql_loc_t type_condition_loc;
    struct gql_selection *selections; /* FIELD (may be NULL), INLINE */
    struct gql_selection *next;
} gql_selection_t;

typedef struct gql_vardef {
    const char *name;
    gql_typeref_t *type;
    gql_value_t *default_value;
    gql_directive_t *directives;
    gql_loc_t loc;
    struct gql_vardef *next;
} gql_vardef_t;

typedef enum gql_definition_kind { GQL_D_OPERATION, GQL_D_FRAGMENT } gql_definition_kind_t;

typedef struct gql_definition {
    gql_definition_kind_t kind;
    byron_graphql_operation_kind_t operation;
    const char *name; /* NULL for anonymous operations */
    gql_vardef_t *variables;
    gql_directive_t *directives;
    const char *type_condition; /* FRAGMENT */
    gql_loc_t type_condition_loc;
    gql_selection_t *selections;
    gql_loc_t loc;
    struct gql_definition *next;
} gql_definition_t;

struct byron_graphql_document {
    gql_arena_t arena;
    gql_definition_t *definitions;
};

const char *gql_response_key(const gql_selection_t *field);
const gql_definition_t *gql_document_fragment(const byron_graphql_document_t *doc, const char *name);
/* The operation `name` selects (NULL: the only one), or NULL with a message in err. */
const gql_definition_t *gql_document_find_operation(const byron_graphql_document_t *doc, const char *name,
                                                    byron_err_t *err);
const char *gql_operation_kind_str(byron_graphql_operation_kind_t k);

/* ---------------------------------------------------------------- schema */

typedef struct gql_enum_value {
    const char *name, *description, *deprecation;
    struct gql_enum_value *next;
} gql_enum_value_t;

/* One struct for object fields, arguments and input object fields. */
struct byron_graphql_field {
    const char *name, *description, *deprecation;
    const void *meta; /* byron_graphql_field_set_meta() */
    const char *type_src;
    byron_graphql_type_t *type; /* resolved by finalize */
    /* The default value, immutable once set (docs/graphql.md, "Threads"): JSON
     * text parsed anew for every use, so no json_object (whose reference
     * count is not atomic) is ever shared by two requests; and, from
     * finalize, the GraphQL literal that introspection and the SDL print.
     * NULL: no default. Both in the schema's arena. */
    const char *default_json;
    const char *default_literal;
    struct byron_graphql_field *args;
    byron_graphql_resolve_fn resolve;
    void *udata;
    byron_graphql_type_t *owner;
    struct byron_graphql_schema *schema;
    struct byron_graphql_field *next;
};

/* Which built-in scalar a SCALAR type is (how the executor writes its
 * values), set when the type is added: no name comparison per value. */
typedef enum gql_leaf {
    GQL_LEAF_CUSTOM, /* JSON and other custom scalars: the value as it is */
    GQL_LEAF_INT,
    GQL_LEAF_FLOAT,
    GQL_LEAF_STRING,
    GQL_LEAF_ID,
    GQL_LEAF_DATETIME,
    GQL_LEAF_BOOLEAN,
} gql_leaf_t;

struct byron_graphql_type {
    byron_graphql_type_kind_t kind;
    gql_leaf_t leaf;
    const char *name, *description, *specified_by;
    byron_graphql_field_t *fields;    /* OBJECT, INPUT_OBJECT */
    gql_enum_value_t *values;         /* ENUM */
    byron_graphql_type_t *of;         /* LIST, NON_NULL */
    byron_graphql_type_t *list_cache; /* interned wrappers: same type, same pointer */
    byron_graphql_type_t *non_null_cache;
    struct byron_graphql_schema *schema;
    struct byron_graphql_type *next;
};

typedef struct gql_directive_def {
    const char *name, *description;
    unsigned locations; /* bit set of gql_dirloc_t */
    bool repeatable;
    byron_graphql_field_t *args;
    struct gql_directive_def *next;
} gql_directive_def_t;

typedef enum gql_dirloc {
    GQL_DL_QUERY,
    GQL_DL_MUTATION,
    GQL_DL_SUBSCRIPTION,
    GQL_DL_FIELD,
    GQL_DL_FRAGMENT_DEFINITION,
    GQL_DL_FRAGMENT_SPREAD,
    GQL_DL_INLINE_FRAGMENT,
    GQL_DL_VARIABLE_DEFINITION,
    GQL_DL_SCHEMA,
    GQL_DL_SCALAR,
    GQL_DL_OBJECT,
    GQL_DL_FIELD_DEFINITION,
    GQL_DL_ARGUMENT_DEFINITION,
    GQL_DL_INTERFACE,
    GQL_DL_UNION,
    GQL_DL_ENUM,
    GQL_DL_ENUM_VALUE,
    GQL_DL_INPUT_OBJECT,
    GQL_DL_INPUT_FIELD_DEFINITION,
    GQL_DL_COUNT,
} gql_dirloc_t;

extern const char *const gql_dirloc_names[GQL_DL_COUNT];

struct byron_graphql_schema {
    gql_arena_t arena;
    byron_graphql_type_t *types; /* in insertion order */
    gql_directive_def_t *directives;
    const char *query_name, *mutation_name, *subscription_name;
    byron_graphql_type_t *query, *mutation, *subscription;
    byron_graphql_field_t *meta_schema;   /* __schema: __Schema! */
    byron_graphql_field_t *meta_type;     /* __type(name: String!): __Type */
    byron_graphql_field_t *meta_typename; /* __typename: String! */
    bool finalized;
    bool failed; /* an allocation failed while building */
};

byron_graphql_type_t *gql_schema_lookup(const byron_graphql_schema_t *s, const char *name);
byron_graphql_type_t *gql_schema_type_from_ref(const byron_graphql_schema_t *s, const gql_typeref_t *ref);
byron_graphql_type_t *gql_type_list(byron_graphql_type_t *t);
byron_graphql_type_t *gql_type_non_null(byron_graphql_type_t *t);
const byron_graphql_type_t *gql_type_named(const byron_graphql_type_t *t);
const byron_graphql_type_t *gql_type_nullable(const byron_graphql_type_t *t);
bool gql_type_is_input(const byron_graphql_type_t *t);
bool gql_type_is_output(const byron_graphql_type_t *t);
bool gql_type_is_leaf(const byron_graphql_type_t *t);
bool gql_type_is_composite(const byron_graphql_type_t *t);
/* "[Order!]!" into buf; returns buf. */
char *gql_type_str(const byron_graphql_type_t *t, char *buf, size_t len);
const byron_graphql_field_t *gql_type_field(const byron_graphql_type_t *t, const char *name);
const byron_graphql_field_t *gql_field_arg(const byron_graphql_field_t *f, const char *name);
const gql_enum_value_t *gql_enum_value(const byron_graphql_type_t *t, const char *name);
const gql_directive_def_t *gql_schema_directive(const byron_graphql_schema_t *s, const char *name);
/* A configured limit, never off: 0 or anything above the hard maximum is the hard maximum. */
static inline size_t gql_limit(size_t configured, size_t hard) {
    return configured == 0 || configured > hard ? hard : configured;
}

/* Field definition for `name` on object `t`, including the meta fields. */
const byron_graphql_field_t *gql_field_def(const byron_graphql_schema_t *s, const byron_graphql_type_t *t,
                                           const char *name);
bool gql_name_valid(const char *s);

/* ---------------------------------------------------------------- values */

/* A new value of f's default (the caller owns it); NULL when f has none. */
json_object *gql_field_default_new(const byron_graphql_field_t *f);

/* Literal → JSON without a type (used for defaults in SDL-like contexts and
 * the JSON scalar). Variables are looked up in `vars` (may be NULL). */
json_object *gql_value_to_json(const gql_value_t *v, json_object *vars);
/* Prints a JSON value as a GraphQL literal for `type` (defaultValue in
 * introspection, SDL). Caller frees. */
char *gql_json_to_literal(const byron_graphql_type_t *type, json_object *v);

/* A JSON double printed in its shortest round-trip form (0.1, not json-c's
 * default 0.10000000000000001). */
json_object *gql_json_double(double d);
/* That form as text in buf: its length, or -1 for Infinity and NaN. */
int gql_double_text(double d, char buf[40]);
/* Input coercion (spec 3.x "Input Coercion"). Return 0 and a new value in
 * *out, or -1 with a message in err. `path` describes the position for the
 * message ("$input.lines[2].qty"). */
int gql_coerce_json(const byron_graphql_type_t *type, json_object *in, json_object **out, char *err,
                    size_t errlen, const char *path);
/* Literal input coercion. `vars` holds coerced variables: a variable absent
 * from it is "not provided". Returns 1 when the value is absent (a variable
 * not provided), 0 with *out set, -1 with err. */
int gql_coerce_literal(const byron_graphql_type_t *type, const gql_value_t *v, json_object *vars,
                       json_object **out, char *err, size_t errlen);
/* Arguments of a field or directive: a new object with coerced values. */
int gql_coerce_arguments(const byron_graphql_field_t *arg_defs, const gql_argument_t *args, json_object *vars,
                         json_object **out, char *err, size_t errlen);

/* ---------------------------------------------------------------- response text (json_out.c) */

/* `data` as JSON text, written while executing. An append that runs out of
 * memory sets `failed`, and gql_out_finish then gives NULL. */
typedef struct gql_out {
    byron_buf_t b;
    bool failed;
} gql_out_t;

void gql_out_append(gql_out_t *o, const char *s, size_t n);
/* Appends n bytes: in place while they fit (most appends are a few bytes). */
static inline void gql_out_raw(gql_out_t *o, const char *s, size_t n) {
    if (o->b.cap - o->b.len > n && (o->b.max == 0 || o->b.max - o->b.len >= n)) {
        memcpy(o->b.buf + o->b.len, s, n);
        o->b.len += n;
        o->b.buf[o->b.len] = '\0';
    } else {
        gql_out_append(o, s, n);
    }
}
/* Takes back everything written after `mark` (a length the caller read from o->b.len). */
void gql_out_truncate(gql_out_t *o, size_t mark);
void gql_out_string(gql_out_t *o, const char *s, size_t n);
void gql_out_key(gql_out_t *o, const char *key); /* "key": */
void gql_out_int(gql_out_t *o, int64_t v);
void gql_out_bool(gql_out_t *o, bool v);
/* A leaf as json-c prints it (PLAIN, NOSLASHESCAPE). */
void gql_out_value(gql_out_t *o, json_object *v);
/* The text as a json-c value that prints as it (NULL when nothing or a failed
 * write); o is empty after. */
json_object *gql_out_finish(gql_out_t *o);
void gql_out_cleanup(gql_out_t *o);

/* ---------------------------------------------------------------- document cache (doc_cache.c) */

typedef struct gql_cached_doc gql_cached_doc_t;
/* The cached document of `text` (a reference: release it), or NULL. */
gql_cached_doc_t *gql_doc_cache_get(byron_graphql_doc_cache_t *c, const byron_graphql_schema_t *s,
                                    const byron_graphql_limits_t *limits, const char *text, size_t len);
/* Keeps doc — parsed from text and validated — when it fits. Takes doc
 * over and returns a reference to release (kept or not); NULL (memory ran
 * out): doc stays the caller's. */
gql_cached_doc_t *gql_doc_cache_put(byron_graphql_doc_cache_t *c, const byron_graphql_schema_t *s,
                                    const byron_graphql_limits_t *limits, const char *text, size_t len,
                                    byron_graphql_document_t *doc);
const byron_graphql_document_t *gql_cached_doc(const gql_cached_doc_t *e);
void gql_doc_cache_release(byron_graphql_doc_cache_t *c, gql_cached_doc_t *e);

/* ---------------------------------------------------------------- errors */

/* Appends {message, locations, extensions.code} to `errors`. loc may be NULL. */
void gql_error_add(json_object *errors, const gql_loc_t *loc, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
json_object *gql_error_new(const gql_loc_t *loc, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gql_error_add_loc(json_object *error, const gql_loc_t *loc);
/* Adds ferr's extra extension entry (ext_key/ext_value), if any, to error. */
void gql_error_add_ext(json_object *error, const byron_graphql_field_error_t *ferr);
size_t gql_strlcpy(char *dst, const char *src, size_t n);

/* ---------------------------------------------------------------- introspection */

/* Resolver for fields of the __ types and the meta fields. */
byron_status_t gql_introspection_resolve(const byron_graphql_schema_t *s, json_object *parent,
                                         const byron_graphql_type_t *parent_type,
                                         const byron_graphql_field_t *field, json_object *args,
                                         json_object **result, byron_graphql_field_error_t *err);
byron_status_t gql_introspection_install(byron_graphql_schema_t *s);

/* ---------------------------------------------------------------- execution */

/* byron_graphql_execute for the engine's own transports (http.c, ws.c):
 * *response's `data` is the text the executor wrote (json_out.c), which
 * prints as itself but cannot be read as a json-c tree. */
byron_status_t gql_execute_text(const byron_graphql_schema_t *schema, const byron_graphql_request_t *request,
                                json_object **response);
/* Executes a subscription's selection set for one event (the root field
 * value is `event`). Used by the ws protocol; `data` as gql_execute_text's. */
byron_status_t gql_execute_event(const byron_graphql_schema_t *schema, const byron_graphql_request_t *request,
                                 json_object *event, json_object **response);
/* Finds the root field of a subscription and coerces its arguments. */
byron_status_t gql_subscription_root(const byron_graphql_schema_t *schema,
                                     const byron_graphql_request_t *request, const char **field,
                                     json_object **args, json_object **errors);
/* Parses `query` and finds the operation `opname` selects (both transports
 * need the kind before validating). On failure *doc is NULL and *errors a
 * new array. */
/* The operation of doc that opname selects, or BYRON_EINVAL with *errors. */
byron_status_t gql_select_operation(const byron_graphql_document_t *doc, const char *opname,
                                    byron_graphql_operation_kind_t *kind, json_object **errors);
byron_status_t gql_parse_operation(const char *query, const char *opname,
                                   const byron_graphql_limits_t *limits, byron_graphql_document_t **doc,
                                   byron_graphql_operation_kind_t *kind, json_object **errors);
/* `errors`, or when NULL a new array holding one error describing `st`. */
json_object *gql_errors_or_status(json_object *errors, byron_status_t st);
byron_status_t gql_coerce_variables(const byron_graphql_schema_t *schema, const gql_definition_t *op,
                                    json_object *raw, json_object **out, json_object *errors);

#endif /* BYRON_GRAPHQL_INTERNAL_H */
