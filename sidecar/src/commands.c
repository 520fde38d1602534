/* commands.c — one command, start to durable events.
 *
 *   resolve + validate input ─► read the aggregate's last event (version, seq)
 *   ─► exists? (create: must not; others: must) ─► current state from the cache
 *   ─► app: before hook (may reject) / custom command (returns events)
 *   ─► publish each event with Nats-Msg-Id and the expected last subject sequence
 *   ─► conflict? re-read and re-run the hooks (bounded) ─► after hook ─► result
 *
 * Existence and versions come from the stream, not the cache: the stream is
 * the truth and the only thing the expected-sequence check protects; the cache
 * may lag the sink, so it only feeds the hooks' "current" state. */
#include "commands.h"

#include "byron/backoff.h"
#include "byron/json.h"
#include "byron/log.h"
#include "envelope.h"
#include "principal.h"
#include "subject.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct byron_commands {
    byron_commands_options_t o;
    byron_metric_t *total, *duration, *conflicts;
};

static const char *const KIND_NAMES[] = {"create", "update", "delete", "custom"};

byron_commands_t *byron_commands_new(const byron_commands_options_t *opts, byron_err_t *err) {
    byron_commands_t *c = calloc(1, sizeof *c);
    if (!c) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    c->o = *opts;
    if (c->o.max_attempts <= 0) c->o.max_attempts = 10;
    if (c->o.deadline_ms <= 0) c->o.deadline_ms = 15000;
    if (opts->metrics) {
        static const char *const L2[] = {"command", "code", NULL};
        static const char *const L1[] = {"command", NULL};
        c->total =
            byron_metrics_register(opts->metrics, BYRON_METRIC_COUNTER, "byron_sidecar_commands_total",
                                   "Commands run, by command and result code (OK on success).", L2, NULL, 0);
        c->duration = byron_metrics_register(opts->metrics, BYRON_METRIC_HISTOGRAM,
                                             "byron_sidecar_command_duration_seconds",
                                             "Command latency until its events are durable.", L1, NULL, 0);
        c->conflicts = byron_metrics_register(
            opts->metrics, BYRON_METRIC_COUNTER, "byron_sidecar_command_conflicts_total",
            "Optimistic-concurrency conflicts (each one re-runs the command).", L1, NULL, 0);
    }
    return c;
}

void byron_commands_free(byron_commands_t *c) { free(c); }

void byron_command_key_id(const char *key, char out[BYRON_KEY_ID_LEN + 1]) {
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 1099511628211ull;
    snprintf(out, BYRON_KEY_ID_LEN + 1, "k%016" PRIx64, h);
}

void byron_command_result_cleanup(byron_command_result_t *out) {
    json_object_put(out->events);
    out->events = NULL;
}

int byron_command_http_status(const char *code) {
    if (!code) return 200;
    static const struct {
        const char *code;
        int status;
    } MAP[] = {{BYRON_CODE_BAD_USER_INPUT, 400}, {BYRON_CODE_NOT_FOUND, 404}, {BYRON_CODE_CONFLICT, 409},
               {BYRON_CODE_REJECTED, 422},       {BYRON_CODE_APP_ERROR, 502}, {BYRON_CODE_APP_TIMEOUT, 504},
               {BYRON_CODE_UNAVAILABLE, 503}};
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (strcmp(MAP[i].code, code) == 0) return MAP[i].status;
    return 500;
}

json_object *byron_command_result_to_json(const byron_command_result_t *r) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(r->id));
    json_object_object_add(o, "version", json_object_new_int64(r->version));
    json_object *seqs = json_object_new_array();
    for (size_t i = 0; i < r->nevents; i++)
        json_object_array_add(seqs, json_object_new_uint64(r->sequences[i]));
    json_object_object_add(o, "sequences", seqs);
    json_object_object_add(o, "events", r->events ? json_object_get(r->events) : json_object_new_array());
    json_object_object_add(o, "duplicate", json_object_new_boolean(r->duplicate));
    return o;
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(uint64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Set out->code with the status, so callers can `return fail(...)`. */
static byron_status_t fail(byron_command_result_t *out, const char *code, byron_status_t st) {
    out->code = code;
    return st;
}

/* App call outcome → command error code. */
static const char *app_code(byron_status_t st) {
    switch (st) {
    case BYRON_ETIMEDOUT: return BYRON_CODE_APP_TIMEOUT;
    case BYRON_EUNAVAILABLE: return BYRON_CODE_UNAVAILABLE;
    default: return BYRON_CODE_APP_ERROR;
    }
}

/* A {"reject": {"message": ..., "code": ...}} answer. Returns BYRON_OK when
 * not a rejection, BYRON_EREJECTED (err, out set) when one, BYRON_EPROTO when malformed. */
static byron_status_t check_reject(json_object *resp, const char *what, byron_command_result_t *out,
                                   byron_err_t *err) {
    json_object *rej;
    if (!json_object_object_get_ex(resp, "reject", &rej) || !rej) return BYRON_OK;
    const char *msg = NULL, *code = NULL;
    byron_err_t perr = {0};
    if (byron_json_get_string(rej, "reject", "message", 0, &msg, &perr) != BYRON_OK ||
        byron_json_get_string(rej, "reject", "code", BYRON_JSON_OPTIONAL, &code, &perr) != BYRON_OK) {
        byron_err_set(err, BYRON_EPROTO, "app answered %s with a malformed rejection: %s", what, perr.msg);
        return fail(out, BYRON_CODE_APP_ERROR, BYRON_EPROTO);
    }
    if (code) snprintf(out->app_code, sizeof out->app_code, "%s", code);
    byron_err_set(err, BYRON_EREJECTED, "%s", msg);
    return fail(out, BYRON_CODE_REJECTED, BYRON_EREJECTED);
}

typedef struct {
    const char *type;
    json_object *data; /* owned reference */
} pending_event_t;

/* Events returned by a custom command: 1..MAX, each type declared in emits. */
static byron_status_t take_events(const byron_command_def_t *def, json_object *resp, pending_event_t *evs,
                                  size_t *n, byron_command_result_t *out, byron_err_t *err) {
    json_object *arr;
    byron_err_t perr = {0};
    if (byron_json_get_array(resp, "", "events", 0, &arr, &perr) != BYRON_OK) {
        byron_err_set(err, BYRON_EPROTO, "app answered command %s without events: %s", def->name, perr.msg);
        return fail(out, BYRON_CODE_APP_ERROR, BYRON_EPROTO);
    }
    size_t len = json_object_array_length(arr);
    if (len == 0 || len > BYRON_COMMAND_MAX_EVENTS) {
        byron_err_set(err, BYRON_EPROTO, "app answered command %s with %zu events (want 1 to %d)", def->name,
                      len, BYRON_COMMAND_MAX_EVENTS);
        return fail(out, BYRON_CODE_APP_ERROR, BYRON_EPROTO);
    }
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(arr, i), *data = NULL;
        const char *type;
        char p[32];
        snprintf(p, sizeof p, "events[%zu]", i);
        if (byron_json_get_string(e, p, "type", 0, &type, &perr) != BYRON_OK ||
            byron_json_get_object(e, p, "data", BYRON_JSON_OPTIONAL, &data, &perr) != BYRON_OK) {
            byron_err_set(err, BYRON_EPROTO, "app answered command %s with a bad event: %s", def->name,
                          perr.msg);
            return fail(out, BYRON_CODE_APP_ERROR, BYRON_EPROTO);
        }
        int declared = 0;
        for (size_t k = 0; k < def->nemits; k++)
            if (strcmp(def->emits[k], type) == 0) declared = 1;
        if (!declared) {
            byron_err_set(err, BYRON_EPROTO,
                          "app answered command %s with %s.type \"%.64s\", which it does not emit", def->name,
                          p, type);
            return fail(out, BYRON_CODE_APP_ERROR, BYRON_EPROTO);
        }
        evs[*n].type = type; /* points into resp, which outlives the events */
        evs[*n].data = data ? json_object_get(data) : json_object_new_object();
        (*n)++;
    }
    return BYRON_OK;
}

/* The request body of every hook: what the command is about. */
static json_object *hook_body(const byron_command_request_t *req, const byron_command_ref_t *ref,
                              const char *id, json_object *input, json_object *current,
                              const byron_stream_last_t *last, int attempt) {
    json_object *b = json_object_new_object();
    json_object_object_add(b, "command", json_object_new_string(req->command));
    json_object_object_add(b, "kind", json_object_new_string(KIND_NAMES[ref->kind]));
    json_object_object_add(b, "model", json_object_new_string(ref->model->name));
    json_object_object_add(b, "id", json_object_new_string(id));
    json_object_object_add(b, "input", json_object_get(input));
    json_object_object_add(b, "current", current ? json_object_get(current) : NULL);
    json_object_object_add(b, "version", json_object_new_int64(last->version));
    json_object_object_add(b, "attempt", json_object_new_int(attempt));
    if (ref->custom) {
        json_object *emits = json_object_new_array();
        for (size_t i = 0; i < ref->custom->nemits; i++)
            json_object_array_add(emits, json_object_new_string(ref->custom->emits[i]));
        json_object_object_add(b, "emits", emits);
    }
    if (req->idempotency_key)
        json_object_object_add(b, "idempotencyKey", json_object_new_string(req->idempotency_key));
    if (req->principal) json_object_object_add(b, "principal", byron_principal_to_json(req->principal));
    return b;
}

static int key_is_valid(const char *k) {
    size_t n = strlen(k);
    if (n == 0 || n > 128) return 0;
    for (; *k; k++)
        if (*k <= ' ' || *k > '~') return 0;
    return 1;
}

/* Fill out from an event already in the stream (a re-sent command). */
static byron_status_t result_from_stored(byron_commands_t *c, uint64_t seq, byron_command_result_t *out,
                                         byron_err_t *err) {
    char *data = NULL;
    size_t len = 0;
    byron_stream_last_t meta;
    if (seq == 0) {
        byron_err_set(err, BYRON_EUNAVAILABLE, "duplicate command: its event's sequence is not known yet");
        return fail(out, BYRON_CODE_UNAVAILABLE, BYRON_EUNAVAILABLE);
    }
    byron_status_t st = byron_stream_get(c->o.stream, seq, &data, &len, &meta, err);
    if (st != BYRON_OK) return fail(out, BYRON_CODE_UNAVAILABLE, st);
    json_object *ev = NULL;
    byron_err_t perr = {0};
    out->events = json_object_new_array();
    if (byron_event_parse(data, len, &ev, &perr) == BYRON_OK) {
        json_object_object_add(ev, "byronsequence", json_object_new_uint64(seq));
        json_object_array_add(out->events, ev);
    }
    free(data);
    out->version = meta.version;
    out->nevents = 1;
    out->sequences[0] = seq;
    out->duplicate = 1;
    return BYRON_OK;
}

/* Unique fields: no other cached object may hold the value. The cache lags
 * the stream, so this catches the common case early with a clear message; the
 * sink's unique index is the final guard. One query per unique field set. */
static byron_status_t check_unique(byron_commands_t *c, const byron_model_t *m, const char *id,
                                   json_object *input, byron_command_result_t *out, byron_err_t *err) {
    if (!c->o.cache) return BYRON_OK;
    for (size_t i = 0; i < m->nfields; i++) {
        json_object *v = NULL;
        if (!m->fields[i].unique || !json_object_object_get_ex(input, m->fields[i].name, &v) || !v) continue;
        json_object *filter = json_object_new_object(), *ne = json_object_new_object();
        json_object_object_add(filter, m->fields[i].name, json_object_get(v));
        json_object_object_add(ne, "ne", json_object_new_string(id));
        json_object_object_add(filter, "id", ne);
        byron_cache_query_t q = {.model = m->name, .filter = filter, .limit = 1};
        byron_cache_page_t page;
        byron_err_t cerr = {0};
        byron_status_t st = byron_cache_list(c->o.cache, &q, &page, &cerr);
        json_object_put(filter);
        if (st != BYRON_OK) {
            byron_err_set(err, st == BYRON_EUNAVAILABLE ? BYRON_EUNAVAILABLE : BYRON_EIO, "%s", cerr.msg);
            return fail(out, BYRON_CODE_UNAVAILABLE, err->code);
        }
        json_object *other = json_object_array_get_idx(page.items, 0), *oid = NULL;
        if (other && json_object_object_get_ex(other, "id", &oid)) {
            byron_err_set(err, BYRON_ECONFLICT, "input.%s: %.64s is already used by %s %.64s",
                          m->fields[i].name, byron_json_compact(v), m->name, json_object_get_string(oid));
            byron_cache_page_cleanup(&page);
            return fail(out, BYRON_CODE_CONFLICT, BYRON_ECONFLICT);
        }
        byron_cache_page_cleanup(&page);
    }
    return BYRON_OK;
}

static void call_after(byron_commands_t *c, const byron_command_request_t *req, json_object *body,
                       const byron_command_result_t *out, const char *tp) {
    char path[300];
    snprintf(path, sizeof path, "/v1/commands/%s/after", req->command);
    json_object_object_add(body, "events", json_object_get(out->events));
    json_object_object_add(body, "version", json_object_new_int64(out->version));
    json_object *resp = NULL;
    byron_err_t e = {0};
    byron_status_t st =
        byron_app_post(c->o.app, "after", path, body, tp, c->o.app_timeout_ms, &resp, NULL, &e);
    json_object_put(resp);
    /* The events are durable: an after hook cannot undo them, only be told. */
    if (st != BYRON_OK && st != BYRON_ENOTFOUND)
        byron_log(BYRON_LOG_WARN, "after hook failed", "command", req->command, "id", out->id, "error", e.msg,
                  (char *)NULL);
}

static byron_status_t run(byron_commands_t *c, const byron_command_request_t *req,
                          byron_command_result_t *out, byron_err_t *err, double started) {
    byron_command_ref_t ref;
    if (!req->command || byron_component_command(c->o.component, req->command, &ref) != BYRON_OK) {
        byron_err_set(err, BYRON_EINVAL, "unknown command \"%.64s\"", req->command ? req->command : "");
        return fail(out, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    json_object *input = req->input; /* never NULL here: see byron_commands_run */
    if (!json_object_is_type(input, json_type_object)) {
        byron_err_set(err, BYRON_EINVAL, "input: must be an object");
        return fail(out, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    byron_status_t st = BYRON_OK;
    const byron_model_t *m = ref.model;
    json_object *in_id = NULL;
    json_object_object_get_ex(input, "id", &in_id);
    const char *id = req->id;
    if (ref.kind == BYRON_CMD_CREATE) {
        st = byron_input_validate(m->fields, m->nfields, input, 0, 1, "input", err);
    } else if (ref.kind == BYRON_CMD_UPDATE) {
        st = byron_input_validate(m->fields, m->nfields, input, 1, 0, "input", err);
        if (st == BYRON_OK && json_object_object_length(input) == 0)
            st = byron_err_set(err, BYRON_EINVAL, "input: nothing to update");
    } else if (ref.kind == BYRON_CMD_DELETE) {
        if (json_object_object_length(input) > 0)
            st = byron_err_set(err, BYRON_EINVAL, "input: delete takes no input");
    } else {
        st = byron_input_validate(ref.custom->input, ref.custom->ninput, input, 0, 0, "input", err);
    }
    if (st != BYRON_OK) return fail(out, BYRON_CODE_BAD_USER_INPUT, st);
    if (in_id && id && strcmp(json_object_get_string(in_id), id) != 0) {
        byron_err_set(err, BYRON_EINVAL, "input.id: differs from the command's id");
        return fail(out, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    char gen[BYRON_UUID_LEN + 1];
    if (!id && in_id) id = json_object_get_string(in_id);
    if (!id && ref.kind == BYRON_CMD_CREATE) {
        if (req->idempotency_key)
            byron_command_key_id(req->idempotency_key, gen);
        else
            byron_uuid4(gen);
        id = gen;
    }
    if (!id || !byron_id_is_valid(id)) {
        byron_err_set(err, BYRON_EINVAL, "id: %s%.64s%s", id ? "\"" : "required", id ? id : "",
                      id ? "\" is not a valid id ([A-Za-z0-9_-]{1,128})" : "");
        return fail(out, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    snprintf(out->id, sizeof out->id, "%s", id);
    if (req->idempotency_key && !key_is_valid(req->idempotency_key)) {
        byron_err_set(err, BYRON_EINVAL, "idempotencyKey: 1 to 128 printable ASCII characters, no spaces");
        return fail(out, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    char subject[BYRON_SUBJECT_MAX];
    if (byron_subject_format(subject, sizeof subject, c->o.component, m->name, id) < 0) {
        byron_err_set(err, BYRON_EINVAL, "id: too long for a subject");
        return fail(out, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    /* Message ids are scoped to command and aggregate, so a client reusing a
     * key elsewhere cannot make an unrelated command look like a duplicate. */
    char key[BYRON_UUID_LEN + 1], id_prefix[400];
    if (!req->idempotency_key) byron_uuid4(key);
    snprintf(id_prefix, sizeof id_prefix, "%s:%s:%s:", req->command, id,
             req->idempotency_key ? req->idempotency_key : key);
    char tp[BYRON_TRACEPARENT_LEN + 1];
    const char *traceparent = req->traceparent;
    if (!traceparent || !byron_traceparent_is_valid(traceparent)) {
        byron_traceparent_new(tp);
        traceparent = tp;
    }
    char deleted[160];
    snprintf(deleted, sizeof deleted, "%sDeleted", m->name);
    byron_backoff_t bo;
    byron_backoff_init(&bo, 2, 100, 0);
    double deadline = started + c->o.deadline_ms / 1000.0;
    const char *label[] = {req->command};
    json_object *after_body = NULL;

    for (int attempt = 1;; attempt++) {
        if (attempt > c->o.max_attempts) {
            st = byron_err_set(err, BYRON_ECONFLICT, "%s %s kept changing: gave up after %d attempts",
                               m->name, id, c->o.max_attempts);
            fail(out, BYRON_CODE_CONFLICT, st);
            break;
        }
        byron_stream_last_t last;
        while ((st = byron_stream_last(c->o.stream, subject, &last, err)) == BYRON_EUNAVAILABLE &&
               mono_s() < deadline)
            sleep_ms(byron_backoff_next(&bo));
        if (st != BYRON_OK) {
            fail(out, st == BYRON_EPROTO ? BYRON_CODE_INTERNAL : BYRON_CODE_UNAVAILABLE, st);
            break;
        }
        /* A re-sent command whose events are the aggregate's last: the original result. */
        if (last.seq && strncmp(last.msg_id, id_prefix, strlen(id_prefix)) == 0) {
            st = result_from_stored(c, last.seq, out, err);
            break;
        }
        int exists = last.seq && strcmp(last.type, deleted) != 0;
        if (ref.kind == BYRON_CMD_CREATE && exists) {
            st = byron_err_set(err, BYRON_ECONFLICT, "%s %s already exists", m->name, id);
            fail(out, BYRON_CODE_CONFLICT, st);
            break;
        }
        if (ref.kind != BYRON_CMD_CREATE && !exists) {
            st = byron_err_set(err, BYRON_ENOTFOUND, "%s %s %s", m->name, id,
                               last.seq ? "was deleted" : "not found");
            fail(out, BYRON_CODE_NOT_FOUND, st);
            break;
        }
        if ((ref.kind == BYRON_CMD_CREATE || ref.kind == BYRON_CMD_UPDATE) &&
            (st = check_unique(c, m, id, input, out, err)) != BYRON_OK)
            break;
        json_object *current = NULL;
        if (exists && c->o.cache && c->o.app) { /* only the hooks read the current state */
            byron_err_t cerr = {0};
            byron_status_t cst = byron_cache_get(c->o.cache, m->name, id, &current, &cerr);
            if (cst != BYRON_OK && cst != BYRON_ENOTFOUND) {
                st = byron_err_set(err, cst, "%s", cerr.msg);
                fail(out, BYRON_CODE_UNAVAILABLE, st);
                break;
            }
        }
        pending_event_t evs[BYRON_COMMAND_MAX_EVENTS];
        size_t nev = 0;
        json_object *resp_custom = NULL;
        json_object_put(after_body);
        after_body = NULL;
        if (c->o.app) {
            json_object *body = hook_body(req, &ref, id, input, current, &last, attempt);
            char path[300];
            json_object *resp = NULL;
            snprintf(path, sizeof path, "/v1/commands/%s/before", req->command);
            st = byron_app_post(c->o.app, "before", path, body, traceparent, c->o.app_timeout_ms, &resp, NULL,
                                err);
            if (st == BYRON_OK)
                st = check_reject(resp, path, out, err);
            else if (st == BYRON_ENOTFOUND)
                st = BYRON_OK; /* no before hook */
            else
                fail(out, app_code(st), st);
            json_object_put(resp);
            if (st == BYRON_OK && ref.kind == BYRON_CMD_CUSTOM) {
                snprintf(path, sizeof path, "/v1/commands/%s", req->command);
                st = byron_app_post(c->o.app, "command", path, body, traceparent, c->o.app_timeout_ms,
                                    &resp_custom, NULL, err);
                if (st == BYRON_ENOTFOUND)
                    st = byron_err_set(err, BYRON_EPROTO, "app does not implement command %s (%s: 404)",
                                       req->command, path);
                if (st != BYRON_OK)
                    fail(out, app_code(st), st);
                else if ((st = check_reject(resp_custom, path, out, err)) == BYRON_OK)
                    st = take_events(ref.custom, resp_custom, evs, &nev, out, err);
            }
            if (st == BYRON_OK) after_body = json_object_get(body);
            json_object_put(body);
        } else if (ref.kind == BYRON_CMD_CUSTOM) {
            st = byron_err_set(err, BYRON_EUNAVAILABLE,
                               "command %s needs the app, and this component runs without one", req->command);
            fail(out, BYRON_CODE_APP_ERROR, st);
        }
        json_object_put(current);
        if (st != BYRON_OK) {
            for (size_t i = 0; i < nev; i++) json_object_put(evs[i].data); /* a bad event after good ones */
            json_object_put(resp_custom);
            break;
        }
        if (ref.kind != BYRON_CMD_CUSTOM) {
            static const char *const SUFFIX[] = {"Created", "Updated", "Deleted"};
            json_object *data = NULL;
            if (ref.kind == BYRON_CMD_CREATE) {
                json_object_deep_copy(input, &data, NULL);
                json_object_object_add(data, "id", json_object_new_string(id));
            } else if (ref.kind == BYRON_CMD_UPDATE) {
                data = json_object_get(input);
            } else {
                data = json_object_new_object();
            }
            evs[0].data = data;
            evs[0].type = SUFFIX[ref.kind];
            nev = 1;
        }
        /* Publish in order; each event expects the previous one's sequence. */
        out->events = json_object_new_array();
        uint64_t expected = last.seq;
        int conflict = 0, dup = 0;
        for (size_t i = 0; i < nev && st == BYRON_OK; i++) {
            char type[160], msg_id[420];
            if (ref.kind != BYRON_CMD_CUSTOM)
                snprintf(type, sizeof type, "%s%s", m->name, evs[i].type);
            else
                snprintf(type, sizeof type, "%s", evs[i].type);
            snprintf(msg_id, sizeof msg_id, "%s%zu", id_prefix, i);
            byron_event_spec_t spec = {.source = c->o.component->source,
                                       .type = type,
                                       .subject = id,
                                       .model = m->name,
                                       .version = last.version + (int64_t)i + 1,
                                       .command = req->command,
                                       .principal =
                                           req->principal && req->principal->kind == BYRON_PRINCIPAL_USER
                                               ? req->principal->sub
                                               : NULL,
                                       .traceparent = traceparent,
                                       .data = evs[i].data};
            json_object *ev = byron_event_build(&spec);
            const char *payload = byron_json_compact(ev);
            byron_publish_t p = {.subject = subject,
                                 .data = payload,
                                 .len = strlen(payload),
                                 .msg_id = msg_id,
                                 .expected_seq = expected,
                                 .version = spec.version,
                                 .type = type};
            uint64_t seq = 0;
            int duplicate = 0;
            /* Unavailable (no ack in time, reconnecting): the same message id
             * again is safe, the stream de-duplicates it. */
            for (;;) {
                st = byron_stream_publish(c->o.stream, &p, &seq, &duplicate, err);
                /* A duplicate acked with sequence 0: the server knows the id but
                 * not yet where it was stored. Ask again shortly. */
                if (st == BYRON_OK && duplicate && seq == 0) {
                    byron_log(BYRON_LOG_WARN, "duplicate without a sequence, retrying", "msg_id", msg_id,
                              (char *)NULL);
                    st = byron_err_set(err, BYRON_EUNAVAILABLE, "duplicate of a command still being stored");
                }
                if (st != BYRON_EUNAVAILABLE || mono_s() >= deadline) break;
                sleep_ms(byron_backoff_next(&bo));
            }
            if (st == BYRON_OK && duplicate && i == 0) {
                json_object_put(ev);
                json_object_put(out->events);
                out->events = NULL;
                dup = 1;
                st = result_from_stored(c, seq, out, err); /* applied by an earlier attempt or sender */
                break;
            }
            if (st == BYRON_OK) {
                json_object_object_add(ev, "byronsequence", json_object_new_uint64(seq));
                json_object_array_add(out->events, ev);
                out->sequences[out->nevents++] = seq;
                out->version = spec.version;
                expected = seq;
            } else {
                json_object_put(ev);
                if (st == BYRON_ECONFLICT && i == 0)
                    conflict = 1;
                else if (st == BYRON_ECONFLICT)
                    byron_err_set(err, BYRON_ECONFLICT, "%s %s changed after %zu of %zu events were written",
                                  m->name, id, i, nev);
            }
        }
        for (size_t i = 0; i < nev; i++) json_object_put(evs[i].data);
        json_object_put(resp_custom);
        if (conflict) {
            if (c->conflicts) byron_metric_add(c->conflicts, label, 1);
            json_object_put(out->events);
            out->events = NULL;
            out->nevents = 0;
            sleep_ms(byron_backoff_next(&bo));
            continue;
        }
        if (st != BYRON_OK)
            fail(out, st == BYRON_ECONFLICT ? BYRON_CODE_CONFLICT : BYRON_CODE_UNAVAILABLE, st);
        if (st == BYRON_OK && !dup && after_body) call_after(c, req, after_body, out, traceparent);
        break;
    }
    json_object_put(after_body);
    return st;
}

byron_status_t byron_commands_run(byron_commands_t *c, const byron_command_request_t *req,
                                  byron_command_result_t *out, byron_err_t *err) {
    memset(out, 0, sizeof *out);
    byron_err_t local = {0};
    if (!err) err = &local;
    double started = mono_s();
    byron_command_request_t r = *req;
    json_object *empty = NULL;
    if (!r.input) r.input = empty = json_object_new_object();
    byron_status_t st = run(c, &r, out, err, started);
    json_object_put(empty);
    if (st != BYRON_OK) {
        json_object_put(out->events);
        out->events = NULL;
        out->nevents = 0;
        if (!out->code) out->code = BYRON_CODE_INTERNAL;
    } else {
        out->code = NULL;
    }
    const char *known = req->command && byron_component_command(c->o.component, req->command,
                                                                &(byron_command_ref_t){0}) == BYRON_OK
                            ? req->command
                            : "unknown";
    const char *labels[] = {known, st == BYRON_OK ? "OK" : out->code};
    if (c->total) byron_metric_add(c->total, labels, 1);
    if (c->duration && st == BYRON_OK) byron_metric_observe(c->duration, labels, mono_s() - started);
    return st;
}

byron_status_t byron_commands_execute(byron_commands_t *c, const char *command_name, const char *id,
                                      json_object *input, const char *idempotency_key,
                                      byron_command_result_t *out, byron_err_t *err) {
    byron_command_request_t req = {
        .command = command_name, .id = id, .input = input, .idempotency_key = idempotency_key};
    return byron_commands_run(c, &req, out, err);
}
