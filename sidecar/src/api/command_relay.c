/* command_relay.c — see command_relay.h. */
#include "command_relay.h"

#include "byron/json.h"
#include "byron/log.h"
#include "commands.h"
#include "principal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELAY_TIMEOUT_MS 20000 /* the command's own deadline (15 s) and some */
#define RELAY_QUEUE "byron-api"

typedef struct {
    byron_sidecar_t *sc;
    char *data, *reply;
    size_t len;
} relayed_t;

static void answer(byron_sidecar_t *sc, const char *reply, int status, json_object *body) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_int(status));
    json_object_object_add(o, "body", body);
    const char *txt = byron_json_compact(o);
    byron_err_t err = {0};
    if (byron_stream_reply(sc->stream, reply, txt, strlen(txt), &err) != BYRON_OK)
        byron_log(BYRON_LOG_WARN, "cannot answer a relayed command", "error", err.msg, (char *)NULL);
    json_object_put(o);
}

/* On a worker: the command, as the component's own app. */
static void run_relayed(void *arg) {
    relayed_t *r = arg;
    json_object *req = NULL, *input = NULL;
    const char *command = NULL, *id = NULL, *key = NULL, *tp = NULL;
    byron_err_t err = {0};
    if (byron_json_parse(r->data, r->len, 64, &req, &err) != BYRON_OK ||
        byron_json_get_string(req, "request", "command", 0, &command, &err) != BYRON_OK ||
        byron_json_get_string(req, "request", "id", BYRON_JSON_OPTIONAL, &id, &err) != BYRON_OK ||
        byron_json_get_object(req, "request", "input", BYRON_JSON_OPTIONAL, &input, &err) != BYRON_OK ||
        byron_json_get_string(req, "request", "idempotencyKey", 0, &key, &err) != BYRON_OK ||
        byron_json_get_string(req, "request", "traceparent", BYRON_JSON_OPTIONAL, &tp, &err) != BYRON_OK) {
        answer(r->sc, r->reply, 400, byron_command_error_json(BYRON_CODE_BAD_USER_INPUT, err.msg, NULL));
    } else {
        byron_principal_t app = {.kind = BYRON_PRINCIPAL_APP};
        byron_command_request_t cr = {.command = command,
                                      .id = id,
                                      .input = input,
                                      .idempotency_key = key,
                                      .traceparent = tp,
                                      .principal = &app};
        byron_command_result_t res;
        if (byron_commands_run(r->sc->commands, &cr, &res, &err) == BYRON_OK)
            answer(r->sc, r->reply, 200, byron_command_result_to_json(&res));
        else
            answer(r->sc, r->reply, byron_command_http_status(res.code),
                   byron_command_error_json(res.code, err.msg, res.app_code));
        byron_command_result_cleanup(&res);
    }
    json_object_put(req);
    free(r->data);
    free(r->reply);
    free(r);
}

/* On a cnats thread: hand the request to a worker, never block here. */
static void on_relayed(void *ud, const char *data, size_t len, const char *reply) {
    byron_sidecar_t *sc = ud;
    relayed_t *r = calloc(1, sizeof *r);
    if (r && (r->data = malloc(len + 1)) && (r->reply = strdup(reply))) {
        memcpy(r->data, data, len);
        r->data[len] = '\0';
        r->len = len;
        r->sc = sc;
        if (byron_workpool_submit(sc->pool, run_relayed, r) == BYRON_OK) return;
    }
    if (r) {
        free(r->data);
        free(r->reply);
        free(r);
    }
    answer(sc, reply, 503,
           byron_command_error_json(BYRON_CODE_UNAVAILABLE, "the api is busy or shutting down", NULL));
}

byron_status_t byron_command_relay_serve(byron_sidecar_t *sc, byron_err_t *err) {
    char subject[300];
    if (byron_stream_commands_subject(sc->component, subject, sizeof subject) < 0)
        return byron_err_set(err, BYRON_EINVAL, "component name too long for the commands subject");
    return byron_stream_serve(sc->stream, subject, RELAY_QUEUE, on_relayed, sc, err);
}

void byron_command_relay_send(byron_sidecar_t *sc, const char *command, json_object *request,
                              const char *traceparent, int *status, char **body) {
    char subject[300], *reply = NULL;
    size_t len = 0;
    byron_err_t err = {0};
    json_object *req = NULL, *ans = NULL, *b = NULL, *code = NULL;
    json_object_deep_copy(request, &req, NULL);
    json_object_object_add(req, "command", json_object_new_string(command));
    if (traceparent && *traceparent)
        json_object_object_add(req, "traceparent", json_object_new_string(traceparent));
    const char *txt = byron_json_compact(req);
    byron_status_t st = byron_stream_commands_subject(sc->component, subject, sizeof subject) < 0
                            ? byron_err_set(&err, BYRON_EINVAL, "component name too long")
                            : byron_stream_request(sc->stream, subject, txt, strlen(txt), RELAY_TIMEOUT_MS,
                                                   &reply, &len, &err);
    if (st == BYRON_OK && byron_json_parse(reply, len, 64, &ans, &err) == BYRON_OK &&
        json_object_object_get_ex(ans, "status", &code) && json_object_object_get_ex(ans, "body", &b) &&
        json_object_is_type(b, json_type_object)) {
        *status = json_object_get_int(code);
        *body = strdup(byron_json_compact(b));
    } else {
        char msg[BYRON_ERR_MSG_MAX + 64];
        snprintf(msg, sizeof msg, "relaying the command to the api: %s",
                 err.msg[0] ? err.msg : "unreadable answer");
        json_object *e = byron_command_error_json(BYRON_CODE_UNAVAILABLE, msg, NULL);
        *status = 503;
        *body = strdup(byron_json_compact(e));
        json_object_put(e);
    }
    json_object_put(ans);
    json_object_put(req);
    free(reply);
}
