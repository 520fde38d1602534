/*
 * byron/graphql.h — Byron's GraphQL engine: a standalone C library.
 *
 * Parser, validator, executor, introspection and SDL printer following the
 * GraphQL specification (October 2021), and the two transports as pure
 * functions: GraphQL-over-HTTP request handling and the graphql-transport-ws
 * protocol state machine. No sockets, no threads, no global state: the
 * sidecar owns the I/O and calls in.
 *
 * Errors are JSON arrays in the GraphQL response format
 * ({message, locations, path, extensions: {code}}) because that is where they
 * end up; functions return a byron_status_t.
 *
 * Execution is synchronous: byron_graphql_execute() calls resolvers one at a
 * time on the calling thread and returns when the response is complete. It is
 * meant to run on a sidecar worker thread, where resolvers may block on
 * MongoDB or NATS. A schema is immutable once finalized and may be shared by
 * any number of threads executing concurrently; documents are read-only
 * after parsing and may be shared too.
 *
 * Dependencies: json-c and Byron's lib/ (status, errors). See docs/graphql.md.
 */
#ifndef BYRON_GRAPHQL_H
#define BYRON_GRAPHQL_H

#include "byron/status.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

/* Every call that can fail returns a byron_status_t (byron/status.h), as the
 * rest of Byron does:
 *   BYRON_EINVAL     the document does not parse, or does not validate, or a
 *                    bad argument / schema / variables
 *   BYRON_ELIMIT     a hard limit (size, tokens, depth, fields, cost,
 *                    deadline) was hit
 *   BYRON_ENOMEM     allocation failed
 *   BYRON_EREJECTED  the authorize hook refused a root field: nothing ran
 * A caller that must tell a syntax error from a validation error reads the
 * GraphQL error's extensions.code (BYRON_GRAPHQL_CODE_PARSE, _VALIDATION).
 * What goes wrong in the caller's own hands (building a schema, picking an
 * operation) comes back in a byron_err_t; what a GraphQL client caused comes
 * back as errors in the response format. */

/* `extensions.code` values used in errors. */
#define BYRON_GRAPHQL_CODE_PARSE "GRAPHQL_PARSE_FAILED"
#define BYRON_GRAPHQL_CODE_VALIDATION "GRAPHQL_VALIDATION_FAILED"
#define BYRON_GRAPHQL_CODE_BAD_INPUT "BAD_USER_INPUT"
#define BYRON_GRAPHQL_CODE_OPERATION "OPERATION_RESOLUTION_FAILURE"
#define BYRON_GRAPHQL_CODE_TOO_LARGE "DOCUMENT_TOO_LARGE"
#define BYRON_GRAPHQL_CODE_TOO_MANY_TOKENS "TOO_MANY_TOKENS"
#define BYRON_GRAPHQL_CODE_TOO_DEEP "DEPTH_LIMIT_EXCEEDED"
#define BYRON_GRAPHQL_CODE_TOO_COMPLEX "QUERY_TOO_COMPLEX"
#define BYRON_GRAPHQL_CODE_DEADLINE "DEADLINE_EXCEEDED"
#define BYRON_GRAPHQL_CODE_RESPONSE_TOO_LARGE "RESPONSE_TOO_LARGE"
#define BYRON_GRAPHQL_CODE_INTERNAL "INTERNAL_SERVER_ERROR"

/* ---------------------------------------------------------------- limits */

/* Hard limits. byron_graphql_limits_init() fills the defaults shown; a NULL
 * limits pointer anywhere below means "the defaults". No limit can be turned
 * off: zero, or a value above the hard maximum below, means the hard maximum
 * (deep nesting would otherwise exhaust the C stack: 1 MiB of "[" is enough). */
#define BYRON_GRAPHQL_HARD_MAX_DOCUMENT_BYTES (1u << 20)
#define BYRON_GRAPHQL_HARD_MAX_TOKENS 1000000u
#define BYRON_GRAPHQL_HARD_MAX_DEPTH 256u
#define BYRON_GRAPHQL_HARD_MAX_FIELDS 100000u
#define BYRON_GRAPHQL_HARD_MAX_ALIASES 100000u
#define BYRON_GRAPHQL_HARD_MAX_DEADLINE_MS 600000u
#define BYRON_GRAPHQL_HARD_MAX_COST 10000000u
#define BYRON_GRAPHQL_DEFAULT_PAGE 100u
typedef struct byron_graphql_limits {
    size_t max_document_bytes; /* 65536: source text size */
    size_t max_tokens;         /* 20000: lexical tokens in a document */
    unsigned max_depth;        /* 32: nesting of selection sets, list/object literals, types */
    unsigned max_fields;       /* 2000: field selections after fragment expansion */
    unsigned max_aliases;      /* 200: aliased fields after fragment expansion */
    unsigned deadline_ms;      /* 10000: wall time for one execution */
    /* 50000: how many field resolutions an operation may ask for, counted
     * before it runs, with `first`/`last` multiplying through nesting (a
     * field that takes them but was not given one counts as a default page of
     * BYRON_GRAPHQL_DEFAULT_PAGE). QUERY_TOO_COMPLEX beyond. */
    unsigned max_cost;
} byron_graphql_limits_t;

void byron_graphql_limits_init(byron_graphql_limits_t *limits);

/* ---------------------------------------------------------------- documents */

typedef struct byron_graphql_document byron_graphql_document_t;

typedef enum byron_graphql_operation_kind {
    BYRON_GRAPHQL_QUERY = 0,
    BYRON_GRAPHQL_MUTATION,
    BYRON_GRAPHQL_SUBSCRIPTION,
} byron_graphql_operation_kind_t;

/* Parses an executable document. On success *out is a new document the caller
 * frees with byron_graphql_document_free(). On failure *errors (if errors is
 * not NULL) is a new JSON array of one error with its location; the caller
 * puts it. `len` is the byte length of `src` (which need not be terminated). */
byron_status_t byron_graphql_parse(const char *src, size_t len, const byron_graphql_limits_t *limits,
                                   byron_graphql_document_t **out, json_object **errors);
void byron_graphql_document_free(byron_graphql_document_t *doc);

/* Finds the operation that `operation_name` selects (NULL: the only one) and
 * reports its kind. Returns BYRON_EINVAL with a message in err (if not NULL)
 * when there is none. */
byron_status_t byron_graphql_document_operation(const byron_graphql_document_t *doc,
                                                const char *operation_name,
                                                byron_graphql_operation_kind_t *kind, byron_err_t *err);

/* ---------------------------------------------------------------- schema */

typedef struct byron_graphql_schema byron_graphql_schema_t;
typedef struct byron_graphql_type byron_graphql_type_t;
typedef struct byron_graphql_field byron_graphql_field_t;

typedef enum byron_graphql_type_kind {
    BYRON_GRAPHQL_SCALAR = 0,
    BYRON_GRAPHQL_OBJECT,
    BYRON_GRAPHQL_INTERFACE, /* reported by introspection only; not buildable */
    BYRON_GRAPHQL_UNION,     /* idem */
    BYRON_GRAPHQL_ENUM,
    BYRON_GRAPHQL_INPUT_OBJECT,
    BYRON_GRAPHQL_LIST,
    BYRON_GRAPHQL_NON_NULL,
} byron_graphql_type_kind_t;

typedef struct byron_graphql_resolve_info {
    const byron_graphql_schema_t *schema;
    const char *parent_type; /* name of the object type */
    const char *field_name;
    const char *response_key; /* alias or field name */
    const byron_graphql_type_t *return_type;
    const void *meta;       /* byron_graphql_field_set_meta()'s copy, or NULL */
    void *field_udata;      /* from byron_graphql_schema_set_resolver() */
    json_object *variables; /* borrowed: coerced variable values */
    byron_graphql_operation_kind_t operation;
    /* Milliseconds left before the execution deadline (-1: none). The
     * executor checks the deadline between resolver calls only, so a resolver
     * that blocks should bound its own I/O with this. */
    int64_t deadline_remaining_ms;
} byron_graphql_resolve_info_t;

/* What a resolver reports when it fails: becomes a field error with the
 * field's path and locations and extensions.code (INTERNAL_SERVER_ERROR if
 * code is left empty). */
typedef struct byron_graphql_field_error {
    char message[512];
    char code[64];
    /* One optional extra string entry in `extensions` besides `code` (the
     * sidecar's "appCode" for an app's rejection); empty ext_key: none. */
    char ext_key[32];
    char ext_value[128];
} byron_graphql_field_error_t;

/* Fills `err` (code may be NULL: INTERNAL_SERVER_ERROR) and returns `st`
 * (not BYRON_OK), so a resolver can
 * `return byron_graphql_field_error_set(err, BYRON_ENOTFOUND, "NOT_FOUND", "...")`.
 * The status is for the C caller; the client sees message and code only. */
byron_status_t byron_graphql_field_error_set(byron_graphql_field_error_t *err, byron_status_t st,
                                             const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A resolver. Returns BYRON_OK and a new reference in *result (NULL means
 * null), or another status with `err` filled (the client sees err, never the
 * status; an empty err reads "Resolver failed."). `parent` is borrowed; `args` is the coerced
 * argument object (borrowed; absent optional arguments are absent keys).
 * Resolvers run synchronously on the executing thread and may block. */
typedef byron_status_t (*byron_graphql_resolve_fn)(void *ctx, json_object *parent, const char *field,
                                                   json_object *args,
                                                   const byron_graphql_resolve_info_t *info,
                                                   json_object **result, byron_graphql_field_error_t *err);

/* The default resolver: parent[field] (a new reference), null otherwise. */
byron_status_t byron_graphql_default_resolve(void *ctx, json_object *parent, const char *field,
                                             json_object *args, const byron_graphql_resolve_info_t *info,
                                             json_object **result, byron_graphql_field_error_t *err);

/* A new schema holding the built-in scalars (Int Float String Boolean ID),
 * directives (@include @skip @deprecated @specifiedBy) and the introspection
 * types. Build it with the calls below, then byron_graphql_schema_finalize().
 * Type references are SDL strings ("[Order!]!") resolved at finalize, so
 * types can be added in any order. Strings are copied. */
byron_graphql_schema_t *byron_graphql_schema_new(void);
void byron_graphql_schema_free(byron_graphql_schema_t *schema);

/* A type (SCALAR, OBJECT, ENUM or INPUT_OBJECT); NULL when the name is taken,
 * the kind is not buildable or the schema is finalized. */
byron_graphql_type_t *byron_graphql_schema_add_type(byron_graphql_schema_t *schema,
                                                    byron_graphql_type_kind_t kind, const char *name,
                                                    const char *description);
/* A field of an object or input object (NULL when the name is taken). An
 * input field's default comes from byron_graphql_field_set_default(); JSON
 * passed to the builder is copied, never kept. */
byron_graphql_field_t *byron_graphql_type_add_field(byron_graphql_type_t *type, const char *name,
                                                    const char *type_ref, const char *description);
byron_status_t byron_graphql_field_set_default(byron_graphql_field_t *field, json_object *default_json);
byron_graphql_field_t *byron_graphql_field_add_arg(byron_graphql_field_t *field, const char *name,
                                                   const char *type_ref, json_object *default_json,
                                                   const char *description);
void byron_graphql_field_deprecate(byron_graphql_field_t *field, const char *reason);
/* What the field means to its resolver: `size` bytes copied into the schema,
 * which a resolver sees as info->meta and the authorize callback as `meta`
 * (the sidecar's generator stores what each generated field does and on
 * which model: sidecar/src/core/component_schema.h). */
void byron_graphql_field_set_meta(byron_graphql_field_t *field, const void *meta, size_t size);
byron_status_t byron_graphql_enum_add_value(byron_graphql_type_t *type, const char *name,
                                            const char *description);
void byron_graphql_scalar_set_specified_by(byron_graphql_type_t *type, const char *url);

/* Per-field resolver; takes precedence over the request's resolver. Like
 * every builder call, only before the schema is shared between threads. */
byron_status_t byron_graphql_schema_set_resolver(byron_graphql_schema_t *schema, const char *type,
                                                 const char *field, byron_graphql_resolve_fn fn, void *udata);
void byron_graphql_schema_set_roots(byron_graphql_schema_t *schema, const char *query, const char *mutation,
                                    const char *subscription);
/* Resolves type references and checks the schema (names, kinds, non-empty
 * types, roots). After this the schema is read-only. On failure err (if not
 * NULL) names what is wrong ("Order.total: unknown or malformed type ..."). */
byron_status_t byron_graphql_schema_finalize(byron_graphql_schema_t *schema, byron_err_t *err);

const byron_graphql_type_t *byron_graphql_schema_type(const byron_graphql_schema_t *schema, const char *name);
byron_graphql_type_kind_t byron_graphql_type_kind(const byron_graphql_type_t *type);
const char *byron_graphql_type_name(const byron_graphql_type_t *type); /* NULL for wrappers */
const byron_graphql_type_t *byron_graphql_type_of(const byron_graphql_type_t *type);

/* The schema in SDL (without built-ins and introspection types). Caller frees. */
char *byron_graphql_schema_print(const byron_graphql_schema_t *schema);

/* ---------------------------------------------------------------- validation */

/* Runs the validation rules (and the static depth / field / alias limits).
 * On failure *errors is a new JSON array (caller puts). */
byron_status_t byron_graphql_validate(const byron_graphql_schema_t *schema,
                                      const byron_graphql_document_t *doc,
                                      const byron_graphql_limits_t *limits, json_object **errors);

/* ---------------------------------------------------------------- execution */

/* Access control on an operation's root fields, before anything executes:
 * called once per root field the operation selects (after @skip/@include and
 * fragments; introspection fields excepted) with the field's meta tag;
 * BYRON_OK allows, any other status refuses the whole operation with err
 * (its code becomes extensions.code; the operation's status is
 * BYRON_EREJECTED whatever the hook returned). Over HTTP a refusal is status 401 when the code is
 * "UNAUTHENTICATED", 403 otherwise; over WebSocket an `error` message. */
typedef byron_status_t (*byron_graphql_authorize_fn)(void *ctx, byron_graphql_operation_kind_t kind,
                                                     const char *field, const void *meta,
                                                     byron_graphql_field_error_t *err);

typedef struct byron_graphql_request {
    const byron_graphql_document_t *document; /* validated */
    const char *operation_name;               /* NULL: the only operation */
    json_object *variables;                   /* raw values from the client; borrowed, may be NULL */
    json_object *root_value;                  /* borrowed, may be NULL */
    byron_graphql_resolve_fn resolve;         /* NULL: byron_graphql_default_resolve */
    void *ctx;                                /* passed to every resolver */
    const byron_graphql_limits_t *limits;
    byron_graphql_authorize_fn authorize; /* NULL: every root field is allowed */
    /* The most bytes `data` may take as JSON text (0: no bound). Execution
     * stops where it passes them — no resolver is called after — and the
     * response is one RESPONSE_TOO_LARGE error, no data (BYRON_ELIMIT). */
    size_t max_data_bytes;
} byron_graphql_request_t;

/* Executes a validated document. *response is a new JSON object
 * {"data": ..., "errors": [...]} (errors only when there are some; no data
 * entry when the request failed before execution — bad variables, unknown
 * operation — in which case the status is BYRON_EINVAL). */
byron_status_t byron_graphql_execute(const byron_graphql_schema_t *schema,
                                     const byron_graphql_request_t *request, json_object **response);

/* Parse + validate + execute a query text: what both transports do.
 * *response is always set on return (caller puts). */
byron_status_t byron_graphql_run(const byron_graphql_schema_t *schema, const char *query,
                                 const byron_graphql_request_t *request, json_object **response);

/* ---------------------------------------------------------------- GraphQL over HTTP */

/* Parsed and validated documents kept by their text (an LRU bounded by
 * entries and bytes), for one schema and one set of limits — the first it
 * is used with; calls with others neither read nor fill it. Give it to the
 * HTTP handler (options.doc_cache): a query sent again is neither parsed
 * nor validated again. Shared by threads (it locks); free it after the last
 * request that used it. NULL when either bound is 0 or memory runs out. */
typedef struct byron_graphql_doc_cache byron_graphql_doc_cache_t;
byron_graphql_doc_cache_t *byron_graphql_doc_cache_new(size_t max_entries, size_t max_bytes);
void byron_graphql_doc_cache_free(byron_graphql_doc_cache_t *cache);
/* Lookups that found the text, lookups that did not, what it holds. Any may be NULL. */
void byron_graphql_doc_cache_stats(byron_graphql_doc_cache_t *cache, uint64_t *hits, uint64_t *misses,
                                   size_t *entries, size_t *bytes);

typedef struct byron_graphql_http_options {
    size_t max_body_bytes; /* 1 MiB by default (0 in the struct: default) */
    byron_graphql_resolve_fn resolve;
    void *ctx;
    json_object *root_value;
    const byron_graphql_limits_t *limits;
    byron_graphql_authorize_fn authorize; /* NULL: every root field is allowed */
    byron_graphql_doc_cache_t *doc_cache; /* NULL: every document is parsed and validated */
    size_t max_data_bytes;                /* the request's max_data_bytes: beyond, 400 RESPONSE_TOO_LARGE */
} byron_graphql_http_options_t;

typedef struct byron_graphql_http_response {
    int status;            /* HTTP status code */
    char content_type[64]; /* e.g. "application/graphql-response+json; charset=utf-8" */
    char allow[32];        /* "Allow" header value for 405, else "" */
    char *body;            /* malloc'd; caller frees with byron_graphql_http_response_cleanup */
    size_t body_len;
    /* options->doc_cache: not looked up (no cache, no query), HIT (neither
     * parsed nor validated) or MISS (parsed; kept when valid). */
    enum {
        BYRON_GRAPHQL_DOC_CACHE_UNUSED,
        BYRON_GRAPHQL_DOC_CACHE_HIT,
        BYRON_GRAPHQL_DOC_CACHE_MISS
    } doc_cache;
} byron_graphql_http_response_t;

/* Handles one GraphQL-over-HTTP request (the URL path is the caller's
 * business). `query_string` is the raw URL query without '?'; headers may be
 * NULL when absent. Never fails: every outcome is an HTTP response. */
void byron_graphql_http_handle(const byron_graphql_schema_t *schema,
                               const byron_graphql_http_options_t *options, const char *method,
                               const char *content_type, const char *accept, const char *query_string,
                               const char *body, size_t body_len, byron_graphql_http_response_t *response);
void byron_graphql_http_response_cleanup(byron_graphql_http_response_t *response);

/* ---------------------------------------------------------------- graphql-transport-ws */

typedef struct byron_graphql_ws byron_graphql_ws_t;

/* The protocol's WebSocket subprotocol name, and its close codes. The
 * machine itself closes with 4400, 4401, 4403, 4408, 4409, 4429 and 4500;
 * the sidecar closes with 4406 when the client does not offer the
 * subprotocol. 4499 (Terminated) is a client-side code. */
#define BYRON_GRAPHQL_WS_PROTOCOL "graphql-transport-ws"
#define BYRON_GRAPHQL_WS_CLOSE_BAD_REQUEST 4400
#define BYRON_GRAPHQL_WS_CLOSE_UNAUTHORIZED 4401
#define BYRON_GRAPHQL_WS_CLOSE_FORBIDDEN 4403
#define BYRON_GRAPHQL_WS_CLOSE_SUBPROTOCOL_NOT_ACCEPTABLE 4406
#define BYRON_GRAPHQL_WS_CLOSE_INIT_TIMEOUT 4408
#define BYRON_GRAPHQL_WS_CLOSE_SUBSCRIBER_EXISTS 4409
#define BYRON_GRAPHQL_WS_CLOSE_TOO_MANY_INITS 4429
#define BYRON_GRAPHQL_WS_CLOSE_TERMINATED 4499
#define BYRON_GRAPHQL_WS_CLOSE_INTERNAL_ERROR 4500

/* Where subscription events come from; the sidecar implements it (NATS).
 * subscribe() starts a source for the root field `field` with coerced `args`
 * and returns BYRON_OK with an opaque handle, or another status with err
 * filled (sent to the client as an `error` message). Events arrive later through
 * byron_graphql_ws_push_event(); unsubscribe() is called exactly once for
 * every successful subscribe() (client complete, close, or free). */
typedef struct byron_graphql_event_source {
    byron_status_t (*subscribe)(void *ctx, const char *id, const char *field, json_object *args,
                                void **handle, byron_graphql_field_error_t *err);
    void (*unsubscribe)(void *ctx, void *handle);
    void *ctx;
} byron_graphql_event_source_t;

typedef struct byron_graphql_ws_options {
    const byron_graphql_event_source_t *source;
    byron_graphql_resolve_fn resolve; /* for queries, mutations, event selection */
    void *ctx;
    const byron_graphql_limits_t *limits;
    /* Checks connection_init's payload (borrowed, may be NULL): BYRON_OK
     * accepts, any other status rejects with close 4403 Forbidden (the client
     * learns nothing more). NULL accepts everyone. */
    byron_status_t (*authorize)(void *ctx, json_object *payload);
    unsigned max_subscriptions;                 /* 100 by default; beyond: error message */
    byron_graphql_authorize_fn authorize_field; /* root fields of every operation; NULL: all allowed */
} byron_graphql_ws_options_t;

/* The state machine's output for one input: zero or more text messages to
 * send, in order, and possibly a close (then the caller closes the socket
 * with close_code/close_reason after sending the messages). */
typedef struct byron_graphql_ws_output {
    char **messages;
    size_t count;
    int close_code; /* 0: keep open */
    char close_reason[128];
} byron_graphql_ws_output_t;

/* One per WebSocket connection whose negotiated subprotocol is
 * "graphql-transport-ws". The schema must outlive it. A machine is not
 * thread-safe: serialize all calls for one connection (receive, timeout,
 * push_event, source_end, free). receive() and push_event() execute GraphQL
 * and so call resolvers: call them on a worker thread, not the event loop. */
byron_graphql_ws_t *byron_graphql_ws_new(const byron_graphql_schema_t *schema,
                                         const byron_graphql_ws_options_t *options);
/* Unsubscribes whatever is still running. */
void byron_graphql_ws_free(byron_graphql_ws_t *ws);

/* One text message in → messages out. */
void byron_graphql_ws_receive(byron_graphql_ws_t *ws, const char *msg, size_t len,
                              byron_graphql_ws_output_t *out);
/* Connection-init timeout expired (the caller's timer): closes with 4408
 * unless connection_init has been acknowledged. */
void byron_graphql_ws_timeout(byron_graphql_ws_t *ws, byron_graphql_ws_output_t *out);
/* An event for subscription `id`: executes its selection set with `event`
 * (borrowed) as the root field's value and emits a `next` message. */
void byron_graphql_ws_push_event(byron_graphql_ws_t *ws, const char *id, json_object *event,
                                 byron_graphql_ws_output_t *out);
/* The source ended subscription `id` (error NULL: normally → `complete`;
 * otherwise → `error`). The handle is considered released: unsubscribe()
 * is not called for it. */
void byron_graphql_ws_source_end(byron_graphql_ws_t *ws, const char *id,
                                 const byron_graphql_field_error_t *error, byron_graphql_ws_output_t *out);
int byron_graphql_ws_acknowledged(const byron_graphql_ws_t *ws);
void byron_graphql_ws_output_cleanup(byron_graphql_ws_output_t *out);

#ifdef __cplusplus
}
#endif
#endif /* BYRON_GRAPHQL_H */
