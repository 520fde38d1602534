/*
 * http.c — GraphQL over HTTP (the graphql-over-http specification) as a pure
 * function: method, headers, query string and body in; status, content type
 * and body out. No sockets: the sidecar's libwebsockets server calls it.
 *
 * Media types: application/graphql-response+json and application/json are
 * both served. With graphql-response+json, requests that fail before
 * execution (parse, validation, unknown operation, bad variables) get 400;
 * with application/json they get 200, as the spec asks for that legacy type.
 * A missing Accept header means application/json.
 */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GQL_RESPONSE_JSON "application/graphql-response+json"
#define JSON_TYPE "application/json"

typedef enum media { MEDIA_NONE, MEDIA_JSON, MEDIA_GQL } media_t;

static void set_body(byron_graphql_http_response_t *r, json_object *body) {
    const char *s =
        json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    r->body = strdup(s);
    r->body_len = r->body ? strlen(r->body) : 0;
}

static void respond_error(byron_graphql_http_response_t *r, int status, media_t media, const char *code,
                          const char *msg) {
    json_object *body = json_object_new_object();
    json_object *errors = json_object_new_array();
    gql_error_add(errors, NULL, code, "%s", msg);
    json_object_object_add(body, "errors", errors);
    r->status = status;
    snprintf(r->content_type, sizeof(r->content_type), "%s; charset=utf-8",
             media == MEDIA_GQL ? GQL_RESPONSE_JSON : JSON_TYPE);
    set_body(r, body);
    json_object_put(body);
}

/* Trims and lower-cases a header token into buf. */
static void token(const char *s, size_t n, char *buf, size_t len) {
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1])) n--;
    size_t i = 0;
    for (; i < n && i + 1 < len; i++) buf[i] = (char)tolower((unsigned char)s[i]);
    buf[i] = '\0';
}

/* Picks the response media type from Accept: highest q wins, ties go to the
 * first listed; wildcards mean application/json. */
static media_t negotiate(const char *accept) {
    if (accept == NULL || *accept == '\0') return MEDIA_JSON;
    media_t best = MEDIA_NONE;
    double best_q = 0;
    const char *p = accept;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *semi = memchr(p, ';', n);
        char type[128];
        token(p, semi ? (size_t)(semi - p) : n, type, sizeof(type));
        double q = 1.0;
        if (semi) {
            char params[128];
            token(semi + 1, n - (size_t)(semi + 1 - p), params, sizeof(params));
            const char *qp = strstr(params, "q=");
            if (qp) q = strtod(qp + 2, NULL);
        }
        media_t m = MEDIA_NONE;
        if (strcmp(type, GQL_RESPONSE_JSON) == 0)
            m = MEDIA_GQL;
        else if (strcmp(type, JSON_TYPE) == 0 || strcmp(type, "*/*") == 0 ||
                 strcmp(type, "application/*") == 0)
            m = MEDIA_JSON;
        if (m != MEDIA_NONE && q > 0 && q > best_q) {
            best = m;
            best_q = q;
        }
        if (end == NULL) break;
        p = end + 1;
    }
    return best;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* application/x-www-form-urlencoded value of `key` (malloc'd), or NULL. */
static char *query_param(const char *qs, const char *key) {
    size_t klen = strlen(key);
    const char *p = qs;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *v = p + klen + 1;
            size_t vn = n - klen - 1;
            char *out = malloc(vn + 1);
            if (out == NULL) return NULL;
            size_t j = 0;
            for (size_t i = 0; i < vn; i++) {
                if (v[i] == '+') {
                    out[j++] = ' ';
                } else if (v[i] == '%' && i + 2 < vn && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
                    out[j++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
                    i += 2;
                } else {
                    out[j++] = v[i];
                }
            }
            out[j] = '\0';
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static json_object *parse_json(const char *s, size_t n) {
    json_tokener *tok = json_tokener_new_ex(64);
    if (tok == NULL) return NULL;
    json_object *o = json_tokener_parse_ex(tok, s, (int)n);
    if (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != n) {
        /* Trailing whitespace is fine; anything else is not. */
        size_t end = json_tokener_get_parse_end(tok);
        bool only_space = json_tokener_get_error(tok) == json_tokener_success;
        for (size_t i = end; only_space && i < n; i++) only_space = isspace((unsigned char)s[i]);
        if (!only_space) {
            json_object_put(o);
            o = NULL;
        }
    }
    json_tokener_free(tok);
    return o;
}

/* extensions.code of the response's first error, or "". */
static const char *first_code(json_object *response) {
    json_object *errors = NULL, *ext = NULL, *code = NULL;
    if (json_object_object_get_ex(response, "errors", &errors) &&
        json_object_object_get_ex(json_object_array_get_idx(errors, 0), "extensions", &ext) &&
        json_object_object_get_ex(ext, "code", &code))
        return json_object_get_string(code);
    return "";
}

/* 401 when the refusal says the client is not authenticated, else 403. */
static int denied_status(json_object *response) {
    return strcmp(first_code(response), "UNAUTHENTICATED") == 0 ? 401 : 403;
}

/* The GraphQL request a GET or POST carries: `query`, `operationName`,
 * `variables`, with what holds their storage. */
typedef struct http_params {
    const char *query, *opname;
    json_object *variables;
    json_object *body_owned; /* POST: the parsed body the three point into */
    json_object *vars_owned; /* GET: the parsed `variables` parameter */
    char *query_owned, *opname_owned;
} http_params_t;

static void http_params_cleanup(http_params_t *p) {
    json_object_put(p->body_owned);
    json_object_put(p->vars_owned);
    free(p->query_owned);
    free(p->opname_owned);
}

/* Content-Type must be application/json, in utf-8 if a charset is named. */
static bool check_content_type(const char *content_type, media_t media, byron_graphql_http_response_t *r) {
    char ct[128] = "";
    if (content_type) {
        const char *semi = strchr(content_type, ';');
        token(content_type, semi ? (size_t)(semi - content_type) : strlen(content_type), ct, sizeof(ct));
        if (semi) {
            char cs[128];
            token(semi + 1, strlen(semi + 1), cs, sizeof(cs));
            const char *charset = strstr(cs, "charset=");
            if (charset && strcmp(charset + 8, "utf-8") != 0 && strcmp(charset + 8, "\"utf-8\"") != 0) {
                respond_error(r, 415, media, "UNSUPPORTED_MEDIA_TYPE",
                              "Only the utf-8 charset is supported.");
                return false;
            }
        }
    }
    if (strcmp(ct, JSON_TYPE) != 0) {
        respond_error(r, 415, media, "UNSUPPORTED_MEDIA_TYPE",
                      "POST requests must have Content-Type: application/json.");
        return false;
    }
    return true;
}

/* A POST's JSON body {"query", "operationName", "variables", "extensions"}. */
static bool read_post(const char *content_type, const char *body, size_t body_len, size_t max_body,
                      media_t media, http_params_t *p, byron_graphql_http_response_t *r) {
    if (!check_content_type(content_type, media, r)) return false;
    if (body_len > max_body) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Request body is larger than %zu bytes.", max_body);
        respond_error(r, 413, media, "PAYLOAD_TOO_LARGE", msg);
        return false;
    }
    json_object *params = body ? parse_json(body, body_len) : NULL;
    if (params == NULL || json_object_get_type(params) != json_type_object) {
        json_object_put(params);
        respond_error(r, 400, media, "BAD_REQUEST", "Request body must be a JSON object {\"query\": ...}.");
        return false;
    }
    p->body_owned = params;
    json_object *q = NULL, *op = NULL, *v = NULL, *ext = NULL;
    json_object_object_get_ex(params, "query", &q);
    json_object_object_get_ex(params, "operationName", &op);
    json_object_object_get_ex(params, "variables", &v);
    json_object_object_get_ex(params, "extensions", &ext);
    const char *bad = NULL;
    if (q == NULL || json_object_get_type(q) != json_type_string)
        bad = "\"query\" must be a string.";
    else if (op && json_object_get_type(op) != json_type_string)
        bad = "\"operationName\" must be a string or null.";
    else if (v && json_object_get_type(v) != json_type_object)
        bad = "\"variables\" must be an object or null.";
    else if (ext && json_object_get_type(ext) != json_type_object)
        bad = "\"extensions\" must be an object or null.";
    if (bad) {
        respond_error(r, 400, media, "BAD_REQUEST", bad);
        return false;
    }
    p->query = json_object_get_string(q);
    p->opname = op ? json_object_get_string(op) : NULL;
    p->variables = v;
    return true;
}

/* A GET's URL-encoded parameters; `variables` and `extensions` are JSON. */
static bool read_get(const char *query_string, size_t max_body, media_t media, http_params_t *p,
                     byron_graphql_http_response_t *r) {
    const char *qs = query_string ? query_string : "";
    if (strlen(qs) > max_body) {
        respond_error(r, 413, media, "PAYLOAD_TOO_LARGE", "Query string is too large.");
        return false;
    }
    p->query = p->query_owned = query_param(qs, "query");
    p->opname = p->opname_owned = query_param(qs, "operationName");
    char *v = query_param(qs, "variables");
    char *ext = query_param(qs, "extensions");
    const char *bad = NULL;
    if (p->query == NULL) bad = "Missing \"query\" parameter.";
    if (v && bad == NULL) {
        p->vars_owned = parse_json(v, strlen(v));
        if (p->vars_owned == NULL && strcmp(v, "null") != 0)
            bad = "\"variables\" must be a JSON-encoded object.";
        else if (p->vars_owned && json_object_get_type(p->vars_owned) != json_type_object)
            bad = "\"variables\" must be a JSON-encoded object.";
        p->variables = p->vars_owned;
    }
    if (ext && bad == NULL) {
        json_object *e = parse_json(ext, strlen(ext));
        if (e == NULL || json_object_get_type(e) != json_type_object)
            bad = "\"extensions\" must be a JSON-encoded object.";
        json_object_put(e);
    }
    free(v);
    free(ext);
    if (bad) {
        respond_error(r, 400, media, "BAD_REQUEST", bad);
        return false;
    }
    return true;
}

/* The document a request executes: parsed for it (owned), or a reference
 * into the options' document cache. */
typedef struct request_doc {
    const byron_graphql_document_t *doc;
    byron_graphql_document_t *owned;
    gql_cached_doc_t *cached;
    bool looked_up;  /* in the cache */
    bool from_cache; /* found there: parsed and validated before */
} request_doc_t;

static void request_doc_cleanup(const byron_graphql_http_options_t *opts, request_doc_t *d) {
    byron_graphql_document_free(d->owned);
    if (d->cached) gql_doc_cache_release(opts->doc_cache, d->cached);
    memset(d, 0, sizeof(*d));
}

/* Parses the request's query — or finds it in the document cache — and
 * selects its operation. */
static byron_status_t request_document(const byron_graphql_schema_t *schema,
                                       const byron_graphql_http_options_t *opts, const http_params_t *p,
                                       request_doc_t *d, byron_graphql_operation_kind_t *kind,
                                       json_object **errors) {
    if (opts->doc_cache && p->query) {
        d->looked_up = true;
        d->cached = gql_doc_cache_get(opts->doc_cache, schema, opts->limits, p->query, strlen(p->query));
    }
    if (d->cached) {
        d->from_cache = true;
        d->doc = gql_cached_doc(d->cached);
        return gql_select_operation(d->doc, p->opname, kind, errors);
    }
    byron_status_t st = gql_parse_operation(p->query, p->opname, opts->limits, &d->owned, kind, errors);
    d->doc = d->owned;
    return st;
}

/* Validates a document the request parsed, and keeps it in the cache
 * when it is valid. A document from the cache was validated there. */
static byron_status_t validate_document(const byron_graphql_schema_t *schema,
                                        const byron_graphql_http_options_t *opts, const http_params_t *p,
                                        request_doc_t *d, json_object **errors) {
    if (d->from_cache) return BYRON_OK;
    byron_status_t st = byron_graphql_validate(schema, d->doc, opts->limits, errors);
    if (st != BYRON_OK || opts->doc_cache == NULL) return st;
    gql_cached_doc_t *e =
        gql_doc_cache_put(opts->doc_cache, schema, opts->limits, p->query, strlen(p->query), d->owned);
    if (e) {
        d->cached = e;
        d->owned = NULL;
    }
    return BYRON_OK;
}

/* Parses, validates and executes the request into r. A request error is 400
 * for graphql-response+json, 200 for application/json. */
static void run_request(const byron_graphql_schema_t *schema, const byron_graphql_http_options_t *opts,
                        bool is_get, media_t media, const http_params_t *p,
                        byron_graphql_http_response_t *r) {
    int request_error = media == MEDIA_GQL ? 400 : 200;
    snprintf(r->content_type, sizeof(r->content_type), "%s; charset=utf-8",
             media == MEDIA_GQL ? GQL_RESPONSE_JSON : JSON_TYPE);
    json_object *errors = NULL, *response = NULL;
    byron_graphql_operation_kind_t kind;
    request_doc_t d = {0};
    byron_status_t st = request_document(schema, opts, p, &d, &kind, &errors);
    if (st == BYRON_OK && is_get && kind != BYRON_GRAPHQL_QUERY) {
        request_doc_cleanup(opts, &d);
        respond_error(r, 405, media, "METHOD_NOT_ALLOWED",
                      kind == BYRON_GRAPHQL_MUTATION ? "Mutations must be sent with POST."
                                                     : "Subscriptions are served over WebSocket, not GET.");
        gql_strlcpy(r->allow, "POST", sizeof(r->allow));
        return;
    }
    if (st == BYRON_OK) st = validate_document(schema, opts, p, &d, &errors);
    r->doc_cache = d.from_cache  ? BYRON_GRAPHQL_DOC_CACHE_HIT
                   : d.looked_up ? BYRON_GRAPHQL_DOC_CACHE_MISS
                                 : BYRON_GRAPHQL_DOC_CACHE_UNUSED;
    if (st != BYRON_OK) {
        r->status = request_error;
        response = json_object_new_object();
        json_object_object_add(response, "errors", gql_errors_or_status(errors, st));
    } else {
        byron_graphql_request_t req = {
            .document = d.doc,
            .operation_name = p->opname,
            .variables = p->variables,
            .root_value = opts->root_value,
            .resolve = opts->resolve,
            .ctx = opts->ctx,
            .limits = opts->limits,
            .authorize = opts->authorize,
            .max_data_bytes = opts->max_data_bytes,
        };
        st = gql_execute_text(schema, &req, &response);
        r->status = st == BYRON_OK ? 200 : request_error;
        if (st == BYRON_EREJECTED) r->status = denied_status(response);
        if (st == BYRON_ELIMIT && strcmp(first_code(response), BYRON_GRAPHQL_CODE_RESPONSE_TOO_LARGE) == 0)
            r->status = 400; /* whatever the media type: there is no data */
    }
    set_body(r, response);
    json_object_put(response);
    request_doc_cleanup(opts, &d);
}

void byron_graphql_http_handle(const byron_graphql_schema_t *schema, const byron_graphql_http_options_t *opts,
                               const char *method, const char *content_type, const char *accept,
                               const char *query_string, const char *body, size_t body_len,
                               byron_graphql_http_response_t *r) {
    memset(r, 0, sizeof(*r));
    byron_graphql_http_options_t defaults = {0};
    if (opts == NULL) opts = &defaults;
    size_t max_body = opts->max_body_bytes ? opts->max_body_bytes : 1u << 20;
    media_t media = negotiate(accept);
    if (media == MEDIA_NONE) {
        respond_error(r, 406, MEDIA_JSON, "NOT_ACCEPTABLE",
                      "Accept must allow application/graphql-response+json or "
                      "application/json.");
        return;
    }
    bool is_get = method && strcmp(method, "GET") == 0;
    bool is_post = method && strcmp(method, "POST") == 0;
    if (!is_get && !is_post) {
        respond_error(r, 405, media, "METHOD_NOT_ALLOWED", "Only GET (queries) and POST are supported.");
        gql_strlcpy(r->allow, "GET, POST", sizeof(r->allow));
        return;
    }
    http_params_t p = {0};
    bool ok = is_post ? read_post(content_type, body, body_len, max_body, media, &p, r)
                      : read_get(query_string, max_body, media, &p, r);
    if (ok) run_request(schema, opts, is_get, media, &p, r);
    http_params_cleanup(&p);
}

void byron_graphql_http_response_cleanup(byron_graphql_http_response_t *r) {
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}
