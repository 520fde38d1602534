/*
 * ws.c — the graphql-transport-ws protocol (the `graphql-ws` library's
 * protocol, subprotocol name "graphql-transport-ws") as a state machine:
 * one text message in, zero or more messages out and maybe a close code.
 * Queries and mutations sent with `subscribe` execute at once (next +
 * complete); subscriptions ask the event source to start and then turn every
 * pushed event into a `next`. No sockets or timers here: the sidecar owns
 * both and reports a connection-init timeout with byron_graphql_ws_timeout().
 *
 * Close codes: 4400 bad message, 4401 subscribe before ack, 4403 init
 * rejected, 4408 init timeout, 4409 duplicate subscription id, 4429 second
 * connection_init.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sub {
    char *id;
    byron_graphql_document_t *doc;
    char *operation_name;
    json_object *variables;
    void *handle;
    struct sub *next;
} sub_t;

struct byron_graphql_ws {
    const byron_graphql_schema_t *schema;
    byron_graphql_ws_options_t opts;
    bool init_received, acknowledged, closed;
    sub_t *subs;
    unsigned nsubs;
};

byron_graphql_ws_t *byron_graphql_ws_new(const byron_graphql_schema_t *schema,
                                         const byron_graphql_ws_options_t *options) {
    byron_graphql_ws_t *ws = calloc(1, sizeof(*ws));
    if (ws == NULL) return NULL;
    ws->schema = schema;
    if (options) ws->opts = *options;
    if (ws->opts.max_subscriptions == 0) ws->opts.max_subscriptions = 100;
    return ws;
}

static void sub_free(sub_t *s) {
    free(s->id);
    free(s->operation_name);
    byron_graphql_document_free(s->doc);
    json_object_put(s->variables);
    free(s);
}

static void unsubscribe_all(byron_graphql_ws_t *ws) {
    sub_t *s = ws->subs;
    while (s) {
        sub_t *next = s->next;
        if (ws->opts.source && ws->opts.source->unsubscribe)
            ws->opts.source->unsubscribe(ws->opts.source->ctx, s->handle);
        sub_free(s);
        s = next;
    }
    ws->subs = NULL;
    ws->nsubs = 0;
}

void byron_graphql_ws_free(byron_graphql_ws_t *ws) {
    if (ws == NULL) return;
    unsubscribe_all(ws);
    free(ws);
}

int byron_graphql_ws_acknowledged(const byron_graphql_ws_t *ws) { return ws->acknowledged; }

static void emit(byron_graphql_ws_output_t *out, json_object *msg) {
    const char *s =
        json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char **nm = realloc(out->messages, (out->count + 1) * sizeof(char *));
    if (nm != NULL) {
        out->messages = nm;
        out->messages[out->count] = strdup(s);
        if (out->messages[out->count]) out->count++;
    }
    json_object_put(msg);
}

static json_object *message(const char *type, const char *id, json_object *payload) {
    json_object *m = json_object_new_object();
    if (id) json_object_object_add(m, "id", json_object_new_string(id));
    json_object_object_add(m, "type", json_object_new_string(type));
    if (payload) json_object_object_add(m, "payload", payload);
    return m;
}

static void close_with(byron_graphql_ws_t *ws, byron_graphql_ws_output_t *out, int code, const char *reason) {
    out->close_code = code;
    gql_strlcpy(out->close_reason, reason, sizeof(out->close_reason));
    ws->closed = true;
    unsubscribe_all(ws);
}

static sub_t *find(byron_graphql_ws_t *ws, const char *id) {
    for (sub_t *s = ws->subs; s; s = s->next)
        if (strcmp(s->id, id) == 0) return s;
    return NULL;
}

static void unlink_sub(byron_graphql_ws_t *ws, sub_t *s) {
    for (sub_t **p = &ws->subs; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            ws->nsubs--;
            return;
        }
}

static void send_error(byron_graphql_ws_output_t *out, const char *id, json_object *errors) {
    emit(out, message("error", id, errors));
}

/* A query or mutation sent with `subscribe` runs at once: next + complete,
 * or error. */
static void execute_now(byron_graphql_ws_t *ws, const char *id, const byron_graphql_request_t *req,
                        byron_graphql_ws_output_t *out) {
    json_object *response = NULL;
    if (gql_execute_text(ws->schema, req, &response) != BYRON_OK) {
        json_object *e = NULL;
        json_object_object_get_ex(response, "errors", &e);
        send_error(out, id, json_object_get(e));
        json_object_put(response);
    } else {
        emit(out, message("next", id, response));
        emit(out, message("complete", id, NULL));
    }
}

/* The `error` payload for a source that refused to start (ferr as the
 * source filled it, terminated here). */
static json_object *source_errors(byron_graphql_field_error_t *ferr) {
    json_object *errors = json_object_new_array();
    ferr->message[sizeof(ferr->message) - 1] = '\0';
    ferr->code[sizeof(ferr->code) - 1] = '\0';
    gql_error_add(errors, NULL, ferr->code[0] ? ferr->code : BYRON_GRAPHQL_CODE_INTERNAL, "%s",
                  ferr->message[0] ? ferr->message : "Subscription could not start.");
    ferr->ext_key[sizeof(ferr->ext_key) - 1] = '\0';
    if (json_object_array_length(errors) > 0) gql_error_add_ext(json_object_array_get_idx(errors, 0), ferr);
    return errors;
}

/* A subscription: within the connection's limit, its root field and
 * arguments, then the event source; on success it joins ws->subs, which
 * takes doc (true), else the caller still owns doc (false). */
static bool start_subscription(byron_graphql_ws_t *ws, const char *id, byron_graphql_document_t *doc,
                               const byron_graphql_request_t *req, byron_graphql_ws_output_t *out) {
    json_object *errors = NULL;
    if (ws->nsubs >= ws->opts.max_subscriptions) {
        errors = json_object_new_array();
        gql_error_add(errors, NULL, "TOO_MANY_SUBSCRIPTIONS",
                      "This connection already has %u subscriptions (limit).", ws->nsubs);
        send_error(out, id, errors);
        return false;
    }
    const char *field = NULL;
    json_object *args = NULL;
    if (gql_subscription_root(ws->schema, req, &field, &args, &errors) != BYRON_OK) {
        send_error(out, id, errors);
        return false;
    }
    const char *opname = req->operation_name;
    sub_t *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->id = strdup(id)) == NULL ||
        (opname && (s->operation_name = strdup(opname)) == NULL)) {
        if (s) free(s->id);
        free(s);
        json_object_put(args);
        close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_INTERNAL_ERROR, "Out of memory");
        return false;
    }
    s->doc = doc;
    s->variables = json_object_get(req->variables);
    byron_graphql_field_error_t ferr;
    memset(&ferr, 0, sizeof(ferr));
    byron_status_t rc = BYRON_ESTATE;
    if (ws->opts.source && ws->opts.source->subscribe)
        rc = ws->opts.source->subscribe(ws->opts.source->ctx, id, field, args, &s->handle, &ferr);
    else
        gql_strlcpy(ferr.message, "Subscriptions are not available.", sizeof(ferr.message));
    json_object_put(args);
    if (rc != BYRON_OK) {
        send_error(out, id, source_errors(&ferr));
        sub_free(s); /* frees doc */
        return true;
    }
    s->next = ws->subs;
    ws->subs = s;
    ws->nsubs++;
    return true;
}

static void handle_subscribe(byron_graphql_ws_t *ws, const char *id, json_object *payload,
                             byron_graphql_ws_output_t *out) {
    json_object *q = NULL, *op = NULL, *vars = NULL;
    json_object_object_get_ex(payload, "query", &q);
    json_object_object_get_ex(payload, "operationName", &op);
    json_object_object_get_ex(payload, "variables", &vars);
    if (q == NULL || json_object_get_type(q) != json_type_string ||
        (op && json_object_get_type(op) != json_type_string) ||
        (vars && json_object_get_type(vars) != json_type_object)) {
        close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_BAD_REQUEST, "Invalid subscribe payload");
        return;
    }
    const char *opname = op ? json_object_get_string(op) : NULL;
    byron_graphql_document_t *doc = NULL;
    json_object *errors = NULL;
    const char *query = json_object_get_string(q);
    byron_graphql_operation_kind_t kind = BYRON_GRAPHQL_QUERY;
    byron_status_t st = gql_parse_operation(query, opname, ws->opts.limits, &doc, &kind, &errors);
    if (st == BYRON_OK) st = byron_graphql_validate(ws->schema, doc, ws->opts.limits, &errors);
    if (st != BYRON_OK) {
        send_error(out, id, gql_errors_or_status(errors, st));
        byron_graphql_document_free(doc);
        return;
    }
    byron_graphql_request_t req = {
        .document = doc,
        .operation_name = opname,
        .variables = vars,
        .resolve = ws->opts.resolve,
        .ctx = ws->opts.ctx,
        .limits = ws->opts.limits,
        .authorize = ws->opts.authorize_field,
    };
    if (kind != BYRON_GRAPHQL_SUBSCRIPTION)
        execute_now(ws, id, &req, out);
    else if (start_subscription(ws, id, doc, &req, out))
        return;
    byron_graphql_document_free(doc);
}

void byron_graphql_ws_receive(byron_graphql_ws_t *ws, const char *msg, size_t len,
                              byron_graphql_ws_output_t *out) {
    memset(out, 0, sizeof(*out));
    if (ws->closed) return;
    json_tokener *tok = json_tokener_new_ex(32);
    json_object *m = tok ? json_tokener_parse_ex(tok, msg, (int)len) : NULL;
    bool ok = tok && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    json_object *type = NULL, *id = NULL, *payload = NULL;
    if (!ok || m == NULL || json_object_get_type(m) != json_type_object ||
        !json_object_object_get_ex(m, "type", &type) || json_object_get_type(type) != json_type_string) {
        json_object_put(m);
        close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_BAD_REQUEST, "Invalid message received");
        return;
    }
    json_object_object_get_ex(m, "id", &id);
    json_object_object_get_ex(m, "payload", &payload);
    const char *t = json_object_get_string(type);
    if (strcmp(t, "connection_init") == 0) {
        if (payload && json_object_get_type(payload) != json_type_object) {
            close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_BAD_REQUEST, "Invalid connection_init payload");
        } else if (ws->init_received) {
            close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_TOO_MANY_INITS, "Too many initialisation requests");
        } else {
            ws->init_received = true;
            if (ws->opts.authorize && ws->opts.authorize(ws->opts.ctx, payload) != BYRON_OK) {
                close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_FORBIDDEN, "Forbidden");
            } else {
                ws->acknowledged = true;
                emit(out, message("connection_ack", NULL, NULL));
            }
        }
    } else if (strcmp(t, "ping") == 0) {
        emit(out, message("pong", NULL, NULL));
    } else if (strcmp(t, "pong") == 0) {
        /* Nothing to do: a pong answers our ping, or is a heartbeat. */
    } else if (strcmp(t, "subscribe") == 0) {
        if (id == NULL || json_object_get_type(id) != json_type_string ||
            json_object_get_string_len(id) == 0 || payload == NULL ||
            json_object_get_type(payload) != json_type_object) {
            close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_BAD_REQUEST, "Invalid subscribe message");
        } else if (!ws->acknowledged) {
            close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_UNAUTHORIZED, "Unauthorized");
        } else if (find(ws, json_object_get_string(id))) {
            char reason[128];
            snprintf(reason, sizeof(reason), "Subscriber for %.80s already exists",
                     json_object_get_string(id));
            close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_SUBSCRIBER_EXISTS, reason);
        } else {
            handle_subscribe(ws, json_object_get_string(id), payload, out);
        }
    } else if (strcmp(t, "complete") == 0) {
        if (id == NULL || json_object_get_type(id) != json_type_string) {
            close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_BAD_REQUEST, "Invalid complete message");
        } else {
            sub_t *s = find(ws, json_object_get_string(id));
            if (s) {
                unlink_sub(ws, s);
                if (ws->opts.source && ws->opts.source->unsubscribe)
                    ws->opts.source->unsubscribe(ws->opts.source->ctx, s->handle);
                sub_free(s);
            }
        }
    } else {
        char reason[128];
        snprintf(reason, sizeof(reason), "Unexpected message type \"%.60s\"", t);
        close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_BAD_REQUEST, reason);
    }
    json_object_put(m);
}

void byron_graphql_ws_timeout(byron_graphql_ws_t *ws, byron_graphql_ws_output_t *out) {
    memset(out, 0, sizeof(*out));
    if (!ws->acknowledged && !ws->closed)
        close_with(ws, out, BYRON_GRAPHQL_WS_CLOSE_INIT_TIMEOUT, "Connection initialisation timeout");
}

void byron_graphql_ws_push_event(byron_graphql_ws_t *ws, const char *id, json_object *event,
                                 byron_graphql_ws_output_t *out) {
    memset(out, 0, sizeof(*out));
    sub_t *s = ws->closed ? NULL : find(ws, id);
    if (s == NULL) return;
    byron_graphql_request_t req = {
        .document = s->doc,
        .operation_name = s->operation_name,
        .variables = s->variables,
        .resolve = ws->opts.resolve,
        .ctx = ws->opts.ctx,
        .limits = ws->opts.limits,
    };
    json_object *response = NULL;
    gql_execute_event(ws->schema, &req, event, &response);
    emit(out, message("next", id, response));
}

void byron_graphql_ws_source_end(byron_graphql_ws_t *ws, const char *id,
                                 const byron_graphql_field_error_t *error, byron_graphql_ws_output_t *out) {
    memset(out, 0, sizeof(*out));
    sub_t *s = ws->closed ? NULL : find(ws, id);
    if (s == NULL) return;
    unlink_sub(ws, s);
    if (error) {
        json_object *errors = json_object_new_array();
        gql_error_add(errors, NULL, error->code[0] ? error->code : BYRON_GRAPHQL_CODE_INTERNAL, "%.*s",
                      (int)sizeof(error->message), error->message);
        send_error(out, id, errors);
    } else {
        emit(out, message("complete", id, NULL));
    }
    sub_free(s);
}

void byron_graphql_ws_output_cleanup(byron_graphql_ws_output_t *out) {
    for (size_t i = 0; i < out->count; i++) free(out->messages[i]);
    free(out->messages);
    memset(out, 0, sizeof(*out));
}
