/* commands.c — one command, start to durable events.
 *
 *   prepare   resolve the command, validate the input, derive the id, the
 *             aggregate's subject and the message ids
 *   attempt   (again on a conflict, at most --max-attempts times)
 *     read      the aggregate's last event (version, sequence) from the stream,
 *               or the one this sidecar appended last (tail_cache.h: a hint
 *               that only an append can confirm)
 *     state     existence from the stream; `current`: the cached object at
 *               exactly that version (cache_wait.h), when a hook or a unique
 *               release needs it
 *     claims    unique values: claim the new ones, release the old (unique.h)
 *     decide    the app: before hook (may reject), custom command (its events)
 *     append    claims, releases and events in one atomic append, conditioned
 *               on every sequence read (stream.h)
 *   after hook
 *
 * The guarantee (docs/consistency.md): a decision sees exactly the state it
 * appends after — the append is conditioned on the sequence that state was
 * read at, so if anything changed in between the append fails and the whole
 * attempt runs again on the new state. Existence and versions come from the
 * stream, the truth; the cache is only read at a version the stream names. */
#include "commands.h"

#include "byron/backoff.h"
#include "byron/clock.h"
#include "byron/json.h"
#include "byron/log.h"
#include "cache_wait.h"
#include "envelope.h"
#include "principal.h"
#include "subject.h"
#include "tail_cache.h"
#include "unique.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct byron_commands {
    byron_commands_options_t o;
    byron_metric_t *total, *duration, *conflicts, *state_wait;
    /* Per generated command (model × create/update/delete): the app answered
     * 404 for its before hook — no hook decides, so its state need not be
     * read. A hook the app gains later answers on the next call: the attempt
     * then runs again with the state (hooks are side-effect free). */
    atomic_int *no_before;
    size_t nno_before;
    byron_tail_cache_t *tail; /* the last event appended per aggregate (tail_cache.h) */
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
    if (c->o.state_wait_ms <= 0) c->o.state_wait_ms = 5000;
    c->nno_before = 3 * c->o.component->nmodels;
    size_t slots = c->o.tail_slots < 0 ? 0 : c->o.tail_slots ? (size_t)c->o.tail_slots : 1024;
    if (!(c->no_before = calloc(c->nno_before ? c->nno_before : 1, sizeof *c->no_before)) ||
        !(c->tail = byron_tail_cache_new(slots))) {
        free(c->no_before);
        free(c);
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
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
        c->state_wait = byron_metrics_register(
            opts->metrics, BYRON_METRIC_HISTOGRAM, "byron_sidecar_command_state_wait_seconds",
            "Time a command waited for the cache to reach the aggregate's version (exact state).", NULL, NULL,
            0);
    }
    return c;
}

void byron_commands_free(byron_commands_t *c) {
    if (!c) return;
    byron_tail_cache_free(c->tail);
    free(c->no_before);
    free(c);
}

void byron_command_key_id(const char *key, char out[BYRON_KEY_ID_LEN + 1]) {
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 1099511628211ull;
    snprintf(out, BYRON_KEY_ID_LEN + 1, "k%016" PRIx64, h);
}

void byron_command_result_cleanup(byron_command_result_t *out) {
    json_object_put(out->events);
    out->events = NULL;
}

json_object *byron_command_error_json(const char *code, const char *message, const char *app_code) {
    json_object *o = json_object_new_object(), *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message", json_object_new_string(message));
    if (app_code && *app_code) json_object_object_add(e, "appCode", json_object_new_string(app_code));
    json_object_object_add(o, "error", e);
    return o;
}

int byron_command_http_status(const char *code) {
    if (!code) return 200;
    static const struct {
        const char *code;
        int status;
    } MAP[] = {{BYRON_CODE_BAD_USER_INPUT, 400}, {BYRON_CODE_NOT_FOUND, 404}, {BYRON_CODE_CONFLICT, 409},
               {BYRON_CODE_REJECTED, 422},       {BYRON_CODE_APP_ERROR, 502}, {BYRON_CODE_APP_TIMEOUT, 504},
               {BYRON_CODE_UNAVAILABLE, 503},    {BYRON_CODE_KEY_REUSED, 422}};
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

/* ------------------------------------------------------------------ the run */

typedef struct {
    const char *type;
    json_object *data; /* owned reference */
} pending_event_t;

/* A claim on (or a release of) one unique value, for this attempt's append. */
typedef struct {
    char subject[BYRON_SUBJECT_MAX];
    uint64_t expected; /* the claim subject's last sequence, as read */
    int release;
    char *payload; /* malloc'd JSON */
} claim_t;

#define MAX_CLAIMS 128

typedef struct run {
    byron_commands_t *c;
    const byron_command_request_t *req;
    byron_command_result_t *out;
    byron_err_t *err;
    byron_command_ref_t ref;
    const byron_model_t *m;
    json_object *input;
    const char *id;
    char id_buf[BYRON_UUID_LEN + 1];
    char subject[BYRON_SUBJECT_MAX];
    char id_prefix[400]; /* message ids: <command>:<id>:<key>: — the same on every attempt */
    char reqhash[33];    /* a keyed command's request (request_hash), "" without a key */
    char traceparent[BYRON_TRACEPARENT_LEN + 1];
    char deleted_type[160];
    double deadline;
    byron_backoff_t bo;
    /* This attempt. */
    int attempt;
    int again;       /* the attempt lost a race: run it again */
    int fresh;       /* read the stream, not the tail cache (after a miss of it) */
    int last_cached; /* this attempt's last came from the tail cache */
    byron_stream_last_t last;
    int exists;
    json_object *current;                  /* the state at last.version; NULL: none */
    byron_unique_holdings_t held;          /* the unique values the aggregate holds at last.version */
    int held_known;                        /* held came from the last event's header (else from current) */
    char unique_hdr[BYRON_UNIQUE_HDR_MAX]; /* what it holds after this command (the events' Byron-Unique) */
    int has_unique_hdr;
    int state_read; /* current was read (needs_state) */
    claim_t claims[MAX_CLAIMS];
    size_t nclaims;
    pending_event_t evs[BYRON_COMMAND_MAX_EVENTS];
    size_t nev;
    json_object *resp_custom; /* the custom command's answer: evs[].type point into it */
    json_object *hook_body;   /* what the hooks were sent; kept for the after hook */
} run_t;

/* Set the result's code with the status, so callers can `return fail(...)`. */
static byron_status_t fail(run_t *r, const char *code, byron_status_t st) {
    r->out->code = code;
    return st;
}

static void attempt_cleanup(run_t *r) {
    json_object_put(r->current);
    r->current = NULL;
    for (size_t i = 0; i < r->nclaims; i++) free(r->claims[i].payload);
    r->nclaims = 0;
    for (size_t i = 0; i < r->nev; i++) json_object_put(r->evs[i].data);
    r->nev = 0;
    json_object_put(r->resp_custom);
    r->resp_custom = NULL;
    json_object_put(r->hook_body);
    r->hook_body = NULL;
    r->again = 0;
    r->has_unique_hdr = 0;
    r->state_read = 0;
}

/* ------------------------------------------------------------------ prepare */

static int key_is_valid(const char *k) {
    size_t n = strlen(k);
    if (n == 0 || n > 128) return 0;
    for (; *k; k++)
        if (*k <= ' ' || *k > '~') return 0;
    return 1;
}

static byron_status_t validate_input(run_t *r) {
    const byron_model_t *m = r->m;
    byron_status_t st = BYRON_OK;
    switch (r->ref.kind) {
    case BYRON_CMD_CREATE:
        st = byron_input_validate(m->fields, m->nfields, r->input, 0, 1, "input", r->err);
        break;
    case BYRON_CMD_UPDATE:
        st = byron_input_validate(m->fields, m->nfields, r->input, 1, 0, "input", r->err);
        if (st == BYRON_OK && json_object_object_length(r->input) == 0)
            st = byron_err_set(r->err, BYRON_EINVAL, "input: nothing to update");
        break;
    case BYRON_CMD_DELETE:
        if (json_object_object_length(r->input) > 0)
            st = byron_err_set(r->err, BYRON_EINVAL, "input: delete takes no input");
        break;
    case BYRON_CMD_CUSTOM:
        st = byron_input_validate(r->ref.custom->input, r->ref.custom->ninput, r->input, 0, 0, "input",
                                  r->err);
        break;
    }
    return st == BYRON_OK ? BYRON_OK : fail(r, BYRON_CODE_BAD_USER_INPUT, st);
}

/* The aggregate id: the request's, input.id, or for a create a new one
 * (derived from the idempotency key, so a re-sent create lands on the same object). */
static byron_status_t resolve_id(run_t *r) {
    json_object *in_id = NULL;
    json_object_object_get_ex(r->input, "id", &in_id);
    const char *id = r->req->id;
    if (in_id && id && strcmp(json_object_get_string(in_id), id) != 0) {
        byron_err_set(r->err, BYRON_EINVAL, "input.id: differs from the command's id");
        return fail(r, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    if (!id && in_id) id = json_object_get_string(in_id);
    if (!id && r->ref.kind == BYRON_CMD_CREATE) {
        if (r->req->idempotency_key)
            byron_command_key_id(r->req->idempotency_key, r->id_buf);
        else
            byron_uuid4(r->id_buf);
        id = r->id_buf;
    }
    if (!id || !byron_id_is_valid(id)) {
        byron_err_set(r->err, BYRON_EINVAL, "id: %s%.64s%s", id ? "\"" : "required", id ? id : "",
                      id ? "\" is not a valid id ([A-Za-z0-9_-]{1,128})" : "");
        return fail(r, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    r->id = id;
    snprintf(r->out->id, sizeof r->out->id, "%s", id);
    return BYRON_OK;
}

/* An idempotency key is bound to its request: SHA-256 (OpenSSL) of the command,
 * the id and the input, as hex (32 digits), stored in the first event
 * (byronrequest); a re-send must come with the same request. */
static void request_hash(const char *command, const char *id, json_object *input, char out[33]) {
    const char *text = json_object_to_json_string_ext(input, JSON_C_TO_STRING_PLAIN);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, command, strlen(command) + 1) == 1 &&
        EVP_DigestUpdate(ctx, id, strlen(id) + 1) == 1 &&
        EVP_DigestUpdate(ctx, text ? text : "", text ? strlen(text) : 0) == 1 &&
        EVP_DigestFinal_ex(ctx, md, &n) == 1)
        for (unsigned i = 0; i < 16 && i < n; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    EVP_MD_CTX_free(ctx);
}

static byron_status_t prepare(run_t *r) {
    const byron_command_request_t *req = r->req;
    if (!req->command || byron_component_command(r->c->o.component, req->command, &r->ref) != BYRON_OK) {
        byron_err_set(r->err, BYRON_EINVAL, "unknown command \"%.64s\"", req->command ? req->command : "");
        return fail(r, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    r->m = r->ref.model;
    if (!json_object_is_type(r->input, json_type_object)) {
        byron_err_set(r->err, BYRON_EINVAL, "input: must be an object");
        return fail(r, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    byron_status_t st;
    if ((st = validate_input(r)) != BYRON_OK || (st = resolve_id(r)) != BYRON_OK) return st;
    if (req->idempotency_key && !key_is_valid(req->idempotency_key)) {
        byron_err_set(r->err, BYRON_EINVAL, "idempotencyKey: 1 to 128 printable ASCII characters, no spaces");
        return fail(r, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    if (byron_subject_format(r->subject, sizeof r->subject, r->c->o.component, r->m->name, r->id) < 0) {
        byron_err_set(r->err, BYRON_EINVAL, "id: too long for a subject");
        return fail(r, BYRON_CODE_BAD_USER_INPUT, BYRON_EINVAL);
    }
    /* Message ids are scoped to command and aggregate, so a client reusing a
     * key elsewhere cannot make an unrelated command look like a duplicate. */
    char key[BYRON_UUID_LEN + 1];
    if (!req->idempotency_key) byron_uuid4(key);
    snprintf(r->id_prefix, sizeof r->id_prefix, "%s:%s:%s:", req->command, r->id,
             req->idempotency_key ? req->idempotency_key : key);
    if (req->idempotency_key) request_hash(req->command, r->id, r->input, r->reqhash);
    if (req->traceparent && byron_traceparent_is_valid(req->traceparent))
        snprintf(r->traceparent, sizeof r->traceparent, "%s", req->traceparent);
    else
        byron_traceparent_new(r->traceparent);
    snprintf(r->deleted_type, sizeof r->deleted_type, "%sDeleted", r->m->name);
    return BYRON_OK;
}

/* ------------------------------------------------------------------ read back */

/* The envelope stored at seq, with byronsequence, appended to out->events. */
static byron_status_t add_stored(run_t *r, uint64_t seq, const char *data, size_t len,
                                 const byron_stream_last_t *meta) {
    json_object *ev = NULL;
    byron_err_t perr = {0};
    if (byron_event_parse(data, len, &ev, &perr) != BYRON_OK) {
        byron_err_set(r->err, BYRON_EPROTO, "stored event %" PRIu64 ": %s", seq, perr.msg);
        return fail(r, BYRON_CODE_INTERNAL, BYRON_EPROTO);
    }
    json_object *stored = NULL;
    if (r->out->nevents == 0 && r->reqhash[0] && json_object_object_get_ex(ev, "byronrequest", &stored) &&
        strcmp(json_object_get_string(stored), r->reqhash) != 0) {
        json_object_put(ev);
        byron_err_set(r->err, BYRON_EREJECTED, "idempotencyKey: already used for a different request");
        return fail(r, BYRON_CODE_KEY_REUSED, BYRON_EREJECTED);
    }
    json_object_object_add(ev, "byronsequence", json_object_new_uint64(seq));
    json_object_array_add(r->out->events, ev);
    r->out->sequences[r->out->nevents++] = seq;
    r->out->version = meta->version;
    return BYRON_OK;
}

/* The command was applied before (a re-send, or an append whose ack was
 * lost): its events, read back from `from`, where the first one is stored.
 * They were appended together: at consecutive sequences. */
static byron_status_t read_back(run_t *r, uint64_t from) {
    json_object_put(r->out->events);
    r->out->events = json_object_new_array();
    r->out->nevents = 0;
    byron_status_t st = BYRON_OK;
    for (uint64_t seq = from; r->out->nevents < BYRON_COMMAND_MAX_EVENTS; seq++) {
        char *data = NULL;
        size_t len = 0;
        byron_stream_last_t meta;
        byron_err_t e = {0};
        st = byron_stream_get(r->c->o.stream, seq, &data, &len, &meta, &e);
        int ours = st == BYRON_OK && strncmp(meta.msg_id, r->id_prefix, strlen(r->id_prefix)) == 0;
        if (ours) st = add_stored(r, meta.seq, data, len, &meta);
        free(data);
        if (st == BYRON_EREJECTED) return st; /* the key came with another request: answered */
        if (!ours || st != BYRON_OK) {
            if (st != BYRON_OK && st != BYRON_ENOTFOUND && !r->out->nevents) {
                byron_err_set(r->err, st, "%s", e.msg);
                return fail(r, BYRON_CODE_UNAVAILABLE, st);
            }
            break;
        }
    }
    if (r->out->nevents == 0) { /* stored, but not visible yet: look again */
        r->again = 1;
        return BYRON_OK;
    }
    r->out->duplicate = 1;
    return BYRON_OK;
}

/* The append was a duplicate: applied by an earlier try of this command (an
 * ack lost) or by a re-send. seq: where its first event is stored, when the
 * ack said (a single message), else 0: the stream is asked (stream.h). */
static byron_status_t read_back_duplicate(run_t *r, uint64_t seq) {
    if (!seq) {
        char first[432];
        snprintf(first, sizeof first, "%s0", r->id_prefix);
        byron_err_t e = {0};
        byron_status_t st = byron_stream_find_msg_id(r->c->o.stream, r->subject, first, &seq, &e);
        if (st == BYRON_ENOTFOUND) { /* stored, but not visible yet: look again */
            r->again = 1;
            return BYRON_OK;
        }
        if (st != BYRON_OK) {
            byron_err_set(r->err, st, "%s", e.msg);
            return fail(r, BYRON_CODE_UNAVAILABLE, st);
        }
    }
    return read_back(r, seq);
}

/* ------------------------------------------------------------------ read + state */

static byron_status_t read_last(run_t *r) {
    byron_status_t st = BYRON_OK;
    r->last_cached = !r->fresh && byron_tail_cache_get(r->c->tail, r->subject, &r->last);
    if (!r->last_cached)
        while ((st = byron_stream_last(r->c->o.stream, r->subject, &r->last, r->err)) == BYRON_EUNAVAILABLE &&
               byron_clock_mono_s() < r->deadline)
            byron_clock_sleep_ms(byron_backoff_next(&r->bo));
    if (st == BYRON_OK && r->last.seq && (r->last.version <= 0 || r->last.version >= BYRON_VERSION_MAX))
        st = byron_err_set(r->err, BYRON_EPROTO,
                           "event %" PRIu64 " on %s has no valid %s header (the stream holds a message "
                           "the api did not write: docs/sink.md, \"Dead letters\")",
                           r->last.seq, r->subject, BYRON_HDR_VERSION);
    if (st != BYRON_OK) return fail(r, st == BYRON_EPROTO ? BYRON_CODE_INTERNAL : BYRON_CODE_UNAVAILABLE, st);
    r->exists = r->last.seq && strcmp(r->last.type, r->deleted_type) != 0;
    return BYRON_OK;
}

static byron_status_t check_exists(run_t *r) {
    if (r->ref.kind == BYRON_CMD_CREATE && r->exists) {
        byron_err_set(r->err, BYRON_ECONFLICT, "%s %s already exists", r->m->name, r->id);
        return fail(r, BYRON_CODE_CONFLICT, BYRON_ECONFLICT);
    }
    if (r->ref.kind != BYRON_CMD_CREATE && !r->exists) {
        byron_err_set(r->err, BYRON_ENOTFOUND, "%s %s %s", r->m->name, r->id,
                      r->last.seq ? "was deleted" : "not found");
        return fail(r, BYRON_CODE_NOT_FOUND, BYRON_ENOTFOUND);
    }
    return BYRON_OK;
}

static int model_has_unique(const byron_model_t *m) {
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].unique) return 1;
    return 0;
}

/* What the aggregate holds, from its last event's Byron-Unique header (unique.h). */
static void read_holdings(run_t *r) {
    r->held_known = 1;
    memset(&r->held, 0, sizeof r->held);
    if (!r->exists || !model_has_unique(r->m)) return; /* a new aggregate holds nothing */
    r->held_known = r->last.has_unique && byron_unique_holdings_parse(r->m, r->last.unique, &r->held) == 0;
}

/* Whether the command may give up a unique value: a delete of a model with
 * unique fields, an update that sets one. */
static int changes_unique(const run_t *r) {
    if (r->ref.kind != BYRON_CMD_UPDATE && r->ref.kind != BYRON_CMD_DELETE) return 0;
    for (size_t i = 0; i < r->m->nfields; i++)
        if (r->m->fields[i].unique && (r->ref.kind == BYRON_CMD_DELETE ||
                                       json_object_object_get_ex(r->input, r->m->fields[i].name, NULL)))
            return 1;
    return 0;
}

/* `current` is read when a hook decides on it — or, for an aggregate whose
 * last event predates the Byron-Unique header, to learn the unique values the
 * command gives up. */
/* The slot of a generated command in no_before; NULL for a custom one. */
static atomic_int *no_before_slot(const run_t *r) {
    if (r->ref.kind == BYRON_CMD_CUSTOM) return NULL;
    size_t i = (size_t)(r->m - r->c->o.component->models) * 3 + (size_t)r->ref.kind;
    return i < r->c->nno_before ? &r->c->no_before[i] : NULL;
}

static int needs_state(const run_t *r) {
    if (!r->exists || !r->c->o.cache) return 0;
    if (!r->held_known && changes_unique(r)) return 1;
    atomic_int *nb = no_before_slot(r); /* a generated command whose before hook the app lacks */
    return r->c->o.app && !(nb && atomic_load(nb));
}

/* A cache_wait_state outcome as the command's: ECONFLICT → run again. */
static byron_status_t state_outcome(run_t *r, byron_status_t st) {
    if (st == BYRON_OK) return BYRON_OK;
    if (st == BYRON_ECONFLICT) {
        r->again = 1;
        return BYRON_OK;
    }
    return fail(r, BYRON_CODE_UNAVAILABLE,
                st == BYRON_ETIMEDOUT || st == BYRON_ESTATE ? BYRON_EUNAVAILABLE : st);
}

static int state_wait_ms(const run_t *r) {
    double left = (r->deadline - byron_clock_mono_s()) * 1000.0;
    int ms = r->c->o.state_wait_ms;
    return left < ms ? (left > 1 ? (int)left : 1) : ms;
}

/* The state of model m's aggregate `id` at `version` (cache_wait.h), timed. */
static byron_status_t wait_state(run_t *r, const char *id, int64_t version, json_object **state) {
    double t0 = byron_clock_mono_s();
    byron_status_t st =
        byron_cache_wait_state(r->c->o.cache, r->m->name, id, version, state_wait_ms(r), state, r->err);
    if (r->c->state_wait) byron_metric_observe(r->c->state_wait, NULL, byron_clock_mono_s() - t0);
    return st;
}

static byron_status_t read_state(run_t *r) {
    if (!needs_state(r)) return BYRON_OK;
    r->state_read = 1;
    return state_outcome(r, wait_state(r, r->id, r->last.version, &r->current));
}

/* ------------------------------------------------------------------ unique claims */

/* Whether aggregate `owner` holds the value of f hashed h at its latest
 * version: its last event says (Byron-Unique), or, for an older event without
 * the header, its state read exactly. */
static byron_status_t holder_has(run_t *r, size_t fi, const char *h, const char *owner, int *held) {
    const byron_field_t *f = &r->m->fields[fi];
    char subject[BYRON_SUBJECT_MAX];
    *held = 0;
    if (byron_subject_format(subject, sizeof subject, r->c->o.component, r->m->name, owner) < 0)
        return BYRON_OK;
    byron_stream_last_t ol;
    byron_status_t st = byron_stream_last(r->c->o.stream, subject, &ol, r->err);
    if (st != BYRON_OK) return fail(r, BYRON_CODE_UNAVAILABLE, st);
    if (!ol.seq || strcmp(ol.type, r->deleted_type) == 0) return BYRON_OK; /* gone: the claim is stale */
    byron_unique_holdings_t oh;
    if (ol.has_unique && byron_unique_holdings_parse(r->m, ol.unique, &oh) == 0) {
        *held = strcmp(oh.hash[fi], h) == 0;
        return BYRON_OK;
    }
    json_object *state = NULL, *have = NULL;
    char hh[BYRON_UNIQUE_HASH_LEN + 1];
    st = wait_state(r, owner, ol.version, &state);
    if (st == BYRON_OK)
        *held = state && json_object_object_get_ex(state, f->name, &have) &&
                byron_unique_hash(f, have, hh) == 0 && strcmp(hh, h) == 0;
    json_object_put(state);
    return state_outcome(r, st);
}

static byron_status_t add_claim(run_t *r, const char *subject, uint64_t expected, size_t fi, json_object *v,
                                const char *h, int release) {
    if (r->nclaims == MAX_CLAIMS) {
        byron_err_set(r->err, BYRON_ELIMIT, "too many unique values in one command");
        return fail(r, BYRON_CODE_BAD_USER_INPUT, BYRON_ELIMIT);
    }
    claim_t *cl = &r->claims[r->nclaims++];
    snprintf(cl->subject, sizeof cl->subject, "%s", subject);
    cl->expected = expected;
    cl->release = release;
    json_object *p = byron_unique_payload(r->m, &r->m->fields[fi], v, h, release ? "" : r->id);
    /* (the payload's owner "" is a release; its header says "~") */
    cl->payload = strdup(byron_json_compact(p));
    json_object_put(p);
    if (!cl->payload) {
        byron_err_set(r->err, BYRON_ENOMEM, "out of memory");
        return fail(r, BYRON_CODE_INTERNAL, BYRON_ENOMEM);
    }
    return BYRON_OK;
}

/* Claim value v (hash h) of field fi for this aggregate: refused (CONFLICT)
 * while another live aggregate holds it. */
static byron_status_t claim(run_t *r, size_t fi, json_object *v, const char *h) {
    const byron_field_t *f = &r->m->fields[fi];
    char subject[BYRON_SUBJECT_MAX];
    if (byron_unique_subject(subject, sizeof subject, r->c->o.component, r->m, f, h) < 0) return BYRON_OK;
    byron_stream_last_t cl;
    byron_status_t st = byron_stream_last(r->c->o.stream, subject, &cl, r->err);
    if (st != BYRON_OK) return fail(r, BYRON_CODE_UNAVAILABLE, st);
    if (cl.seq && byron_id_is_valid(cl.claim) && strcmp(cl.claim, r->id) != 0) {
        int held = 0;
        if ((st = holder_has(r, fi, h, cl.claim, &held)) != BYRON_OK || r->again) return st;
        if (held) {
            byron_err_set(r->err, BYRON_ECONFLICT, "input.%s: %.64s is already used by %s %.64s", f->name,
                          byron_json_compact(v), r->m->name, cl.claim);
            return fail(r, BYRON_CODE_CONFLICT, BYRON_ECONFLICT);
        }
    }
    return add_claim(r, subject, cl.seq, fi, v, h, 0);
}

/* Release the value hashed h, which this aggregate gives up (only if the claim is ours). */
static byron_status_t release(run_t *r, size_t fi, const char *h) {
    char subject[BYRON_SUBJECT_MAX];
    if (byron_unique_subject(subject, sizeof subject, r->c->o.component, r->m, &r->m->fields[fi], h) < 0)
        return BYRON_OK;
    byron_stream_last_t cl;
    byron_status_t st = byron_stream_last(r->c->o.stream, subject, &cl, r->err);
    if (st != BYRON_OK) return fail(r, BYRON_CODE_UNAVAILABLE, st);
    if (!cl.seq || strcmp(cl.claim, r->id) != 0) return BYRON_OK;
    return add_claim(r, subject, cl.seq, fi, NULL, h, 1);
}

static json_object *field_value(json_object *obj, const char *name) {
    json_object *v = NULL;
    if (!obj || !json_object_object_get_ex(obj, name, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return v;
}

/* Unique values in the log: every value the aggregate takes is claimed, every
 * value it gives up released, in the append itself; its events say what it
 * holds after them (r->unique_hdr). Custom events never change unique fields
 * (the sink refuses a handler that tries). */
static byron_status_t plan_claims(run_t *r) {
    if (!model_has_unique(r->m)) return BYRON_OK;
    byron_command_kind_t k = r->ref.kind;
    /* An older last event without the header, and no state read (the command
     * changes no unique value): what the aggregate holds stays unrecorded. */
    if (!r->held_known && !r->state_read) return BYRON_OK;
    if (!r->held_known) /* an older last event: what the state holds */
        for (size_t i = 0; i < r->m->nfields; i++)
            if (r->m->fields[i].unique)
                byron_unique_hash(&r->m->fields[i], field_value(r->current, r->m->fields[i].name),
                                  r->held.hash[i]);
    byron_unique_holdings_t next = r->held;
    for (size_t i = 0; i < r->m->nfields && !r->again && k != BYRON_CMD_CUSTOM; i++) {
        const byron_field_t *f = &r->m->fields[i];
        if (!f->unique || (k == BYRON_CMD_UPDATE && !json_object_object_get_ex(r->input, f->name, NULL)))
            continue;
        json_object *nv = k == BYRON_CMD_DELETE ? NULL : field_value(r->input, f->name);
        char nh[BYRON_UNIQUE_HASH_LEN + 1] = "";
        if (nv) byron_unique_hash(f, nv, nh);
        if (strcmp(nh, r->held.hash[i]) == 0) continue; /* unchanged */
        byron_status_t st;
        if (nh[0] && (st = claim(r, i, nv, nh)) != BYRON_OK) return st;
        if (r->held.hash[i][0] && !r->again && (st = release(r, i, r->held.hash[i])) != BYRON_OK) return st;
        snprintf(next.hash[i], sizeof next.hash[i], "%s", nh);
    }
    if (byron_unique_holdings_format(r->m, &next, r->unique_hdr, sizeof r->unique_hdr) < 0) {
        byron_err_set(r->err, BYRON_ELIMIT, "%s: too many unique values to record", r->m->name);
        return fail(r, BYRON_CODE_INTERNAL, BYRON_ELIMIT);
    }
    r->has_unique_hdr = 1;
    return BYRON_OK;
}

/* ------------------------------------------------------------------ decide */

/* App call outcome → command error code. */
static const char *app_code(byron_status_t st) {
    switch (st) {
    case BYRON_ETIMEDOUT: return BYRON_CODE_APP_TIMEOUT;
    case BYRON_EUNAVAILABLE: return BYRON_CODE_UNAVAILABLE;
    default: return BYRON_CODE_APP_ERROR;
    }
}

/* A {"reject": {"message": ..., "code": ...}} answer. BYRON_OK when not a
 * rejection, BYRON_EREJECTED when one, BYRON_EPROTO when malformed. */
static byron_status_t check_reject(run_t *r, json_object *resp, const char *what) {
    json_object *rej;
    if (!json_object_object_get_ex(resp, "reject", &rej) || !rej) return BYRON_OK;
    const char *msg = NULL, *code = NULL;
    byron_err_t perr = {0};
    if (byron_json_get_string(rej, "reject", "message", 0, &msg, &perr) != BYRON_OK ||
        byron_json_get_string(rej, "reject", "code", BYRON_JSON_OPTIONAL, &code, &perr) != BYRON_OK) {
        byron_err_set(r->err, BYRON_EPROTO, "app answered %s with a malformed rejection: %s", what, perr.msg);
        return fail(r, BYRON_CODE_APP_ERROR, BYRON_EPROTO);
    }
    if (code) snprintf(r->out->app_code, sizeof r->out->app_code, "%s", code);
    byron_err_set(r->err, BYRON_EREJECTED, "%s", msg);
    return fail(r, BYRON_CODE_REJECTED, BYRON_EREJECTED);
}

/* Events returned by a custom command: 1..MAX, each type declared in emits. */
static byron_status_t take_events(run_t *r, json_object *resp) {
    const byron_command_def_t *def = r->ref.custom;
    json_object *arr;
    byron_err_t perr = {0};
    if (byron_json_get_array(resp, "", "events", 0, &arr, &perr) != BYRON_OK) {
        byron_err_set(r->err, BYRON_EPROTO, "app answered command %s without events: %s", def->name,
                      perr.msg);
        return fail(r, BYRON_CODE_APP_ERROR, BYRON_EPROTO);
    }
    size_t len = json_object_array_length(arr);
    if (len == 0 || len > BYRON_COMMAND_MAX_EVENTS) {
        byron_err_set(r->err, BYRON_EPROTO, "app answered command %s with %zu events (want 1 to %d)",
                      def->name, len, BYRON_COMMAND_MAX_EVENTS);
        return fail(r, BYRON_CODE_APP_ERROR, BYRON_EPROTO);
    }
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(arr, i), *data = NULL;
        const char *type;
        char p[32];
        snprintf(p, sizeof p, "events[%zu]", i);
        if (byron_json_get_string(e, p, "type", 0, &type, &perr) != BYRON_OK ||
            byron_json_get_object(e, p, "data", BYRON_JSON_OPTIONAL, &data, &perr) != BYRON_OK) {
            byron_err_set(r->err, BYRON_EPROTO, "app answered command %s with a bad event: %s", def->name,
                          perr.msg);
            return fail(r, BYRON_CODE_APP_ERROR, BYRON_EPROTO);
        }
        int declared = 0;
        for (size_t k = 0; k < def->nemits; k++) declared |= strcmp(def->emits[k], type) == 0;
        if (!declared) {
            byron_err_set(r->err, BYRON_EPROTO,
                          "app answered command %s with %s.type \"%.64s\", which it does not emit", def->name,
                          p, type);
            return fail(r, BYRON_CODE_APP_ERROR, BYRON_EPROTO);
        }
        r->evs[r->nev].type = type; /* points into resp_custom, which outlives the events */
        r->evs[r->nev].data = data ? json_object_get(data) : json_object_new_object();
        r->nev++;
    }
    return BYRON_OK;
}

/* The request body of every hook: what the command is about. */
static json_object *hook_body(const run_t *r) {
    json_object *b = json_object_new_object();
    json_object_object_add(b, "command", json_object_new_string(r->req->command));
    json_object_object_add(b, "kind", json_object_new_string(KIND_NAMES[r->ref.kind]));
    json_object_object_add(b, "model", json_object_new_string(r->m->name));
    json_object_object_add(b, "id", json_object_new_string(r->id));
    json_object_object_add(b, "input", json_object_get(r->input));
    json_object_object_add(b, "current", json_object_get(r->current));
    json_object_object_add(b, "version", json_object_new_int64(r->last.version));
    json_object_object_add(b, "attempt", json_object_new_int(r->attempt));
    if (r->ref.custom) {
        json_object *emits = json_object_new_array();
        for (size_t i = 0; i < r->ref.custom->nemits; i++)
            json_object_array_add(emits, json_object_new_string(r->ref.custom->emits[i]));
        json_object_object_add(b, "emits", emits);
    }
    if (r->req->idempotency_key)
        json_object_object_add(b, "idempotencyKey", json_object_new_string(r->req->idempotency_key));
    if (r->req->principal) json_object_object_add(b, "principal", byron_principal_to_json(r->req->principal));
    return b;
}

/* POST path with the hook body; BYRON_ENOTFOUND: the app does not serve it. */
static byron_status_t app_call(run_t *r, const char *hook, const char *path, json_object **resp) {
    return byron_app_post(r->c->o.app, hook, path, r->hook_body, r->traceparent, r->c->o.app_timeout_ms, resp,
                          NULL, r->err);
}

static byron_status_t run_hooks(run_t *r) {
    char path[300];
    json_object *resp = NULL;
    r->hook_body = hook_body(r);
    snprintf(path, sizeof path, "/v1/commands/%s/before", r->req->command);
    byron_status_t st = app_call(r, "before", path, &resp);
    atomic_int *nb = no_before_slot(r);
    if (nb) atomic_store(nb, st == BYRON_ENOTFOUND);
    if (st == BYRON_OK && r->exists && !r->state_read) { /* a hook we thought absent: decide on the state */
        json_object_put(resp);
        r->again = 1;
        return BYRON_OK;
    }
    if (st == BYRON_OK)
        st = check_reject(r, resp, path);
    else if (st == BYRON_ENOTFOUND)
        st = BYRON_OK; /* no before hook */
    else
        fail(r, app_code(st), st);
    json_object_put(resp);
    if (st != BYRON_OK || r->ref.kind != BYRON_CMD_CUSTOM) return st;
    snprintf(path, sizeof path, "/v1/commands/%s", r->req->command);
    st = app_call(r, "command", path, &r->resp_custom);
    if (st == BYRON_ENOTFOUND)
        st = byron_err_set(r->err, BYRON_EPROTO, "app does not implement command %s (%s: 404)",
                           r->req->command, path);
    if (st != BYRON_OK) return fail(r, app_code(st), st);
    if ((st = check_reject(r, r->resp_custom, path)) != BYRON_OK) return st;
    return take_events(r, r->resp_custom);
}

/* The events to append: the app's (custom) or the generated one. */
static byron_status_t decide(run_t *r) {
    byron_status_t st = BYRON_OK;
    if (r->c->o.app) {
        if ((st = run_hooks(r)) != BYRON_OK) return st;
    } else if (r->ref.kind == BYRON_CMD_CUSTOM) {
        byron_err_set(r->err, BYRON_EUNAVAILABLE,
                      "command %s needs the app, and this component runs without one", r->req->command);
        return fail(r, BYRON_CODE_APP_ERROR, BYRON_EUNAVAILABLE);
    }
    if (r->ref.kind == BYRON_CMD_CUSTOM) return BYRON_OK;
    static const char *const SUFFIX[] = {"Created", "Updated", "Deleted"};
    json_object *data = NULL;
    if (r->ref.kind == BYRON_CMD_CREATE) {
        json_object_deep_copy(r->input, &data, NULL);
        json_object_object_add(data, "id", json_object_new_string(r->id));
    } else if (r->ref.kind == BYRON_CMD_UPDATE) {
        data = json_object_get(r->input);
    } else {
        data = json_object_new_object();
    }
    r->evs[0] = (pending_event_t){SUFFIX[r->ref.kind], data};
    r->nev = 1;
    return BYRON_OK;
}

/* ------------------------------------------------------------------ append */

/* One atomic append: the claims, then the events. */
typedef struct {
    byron_publish_t msgs[MAX_CLAIMS + BYRON_COMMAND_MAX_EVENTS];
    json_object *envs[BYRON_COMMAND_MAX_EVENTS];
    char msg_ids[MAX_CLAIMS + BYRON_COMMAND_MAX_EVENTS][432], types[BYRON_COMMAND_MAX_EVENTS][160];
    uint64_t seqs[MAX_CLAIMS + BYRON_COMMAND_MAX_EVENTS];
    size_t n;
} batch_t;

static void batch_claims(const run_t *r, batch_t *b) {
    for (size_t i = 0; i < r->nclaims; i++) {
        const claim_t *cl = &r->claims[i];
        snprintf(b->msg_ids[i], sizeof b->msg_ids[i], "%sc%zu", r->id_prefix, i);
        b->msgs[i] = (byron_publish_t){.subject = cl->subject,
                                       .data = cl->payload,
                                       .len = strlen(cl->payload),
                                       .msg_id = b->msg_ids[i],
                                       .expected_seq = cl->expected,
                                       .claim = cl->release ? BYRON_UNIQUE_NONE : r->id};
    }
}

static void batch_events(const run_t *r, batch_t *b) {
    for (size_t i = 0; i < r->nev; i++) {
        size_t k = r->nclaims + i;
        if (r->ref.kind != BYRON_CMD_CUSTOM)
            snprintf(b->types[i], sizeof b->types[i], "%s%s", r->m->name, r->evs[i].type);
        else
            snprintf(b->types[i], sizeof b->types[i], "%s", r->evs[i].type);
        snprintf(b->msg_ids[k], sizeof b->msg_ids[k], "%s%zu", r->id_prefix, i);
        byron_event_spec_t spec = {.source = r->c->o.component->source,
                                   .type = b->types[i],
                                   .subject = r->id,
                                   .model = r->m->name,
                                   .version = r->last.version + (int64_t)i + 1,
                                   .command = r->req->command,
                                   .request = r->reqhash[0] && i == 0 ? r->reqhash : NULL,
                                   .traceparent = r->traceparent,
                                   .generation = r->c->o.component->schema_generation,
                                   .principal =
                                       r->req->principal && r->req->principal->kind == BYRON_PRINCIPAL_USER
                                           ? r->req->principal->sub
                                           : NULL,
                                   .data = r->evs[i].data};
        b->envs[i] = byron_event_build(&spec);
        const char *payload = byron_json_compact(b->envs[i]);
        /* Only the first event of the aggregate expects a sequence: the rest
         * follow it inside the same atomic append. */
        b->msgs[k] = (byron_publish_t){.subject = r->subject,
                                       .data = payload,
                                       .len = strlen(payload),
                                       .msg_id = b->msg_ids[k],
                                       .unconditional = i > 0,
                                       .expected_seq = r->last.seq,
                                       .version = spec.version,
                                       .type = b->types[i],
                                       .unique = r->has_unique_hdr ? r->unique_hdr : NULL};
    }
}

/* Appended: the aggregate's last event into the tail cache, the events into the result. */
static void appended(run_t *r, batch_t *b) {
    /* The aggregate's last event now, as a read of the stream would find it. */
    byron_stream_last_t tail;
    size_t k = b->n - 1;
    memset(&tail, 0, offsetof(byron_stream_last_t, unique));
    tail.seq = b->seqs[k];
    tail.version = r->last.version + (int64_t)r->nev;
    /* Cut where a read of the stream cuts them (stream.c fills the same fields). */
    snprintf(tail.type, sizeof tail.type, "%.*s", (int)sizeof tail.type - 1, b->types[r->nev - 1]);
    snprintf(tail.msg_id, sizeof tail.msg_id, "%.*s", (int)sizeof tail.msg_id - 1, b->msg_ids[k]);
    tail.has_unique = r->has_unique_hdr;
    snprintf(tail.unique, sizeof tail.unique, "%s", r->has_unique_hdr ? r->unique_hdr : "");
    byron_tail_cache_put(r->c->tail, r->subject, &tail);
    r->out->events = json_object_new_array();
    for (size_t i = 0; i < r->nev; i++) {
        uint64_t seq = b->seqs[r->nclaims + i];
        json_object_object_add(b->envs[i], "byronsequence", json_object_new_uint64(seq));
        json_object_array_add(r->out->events, b->envs[i]);
        b->envs[i] = NULL;
        r->out->sequences[r->out->nevents++] = seq;
        r->out->version = r->last.version + (int64_t)i + 1;
    }
}

static byron_status_t append(run_t *r) {
    batch_t b; /* on the worker's stack, as before: about 70 KiB */
    memset(b.msgs, 0, sizeof b.msgs);
    b.n = r->nclaims + r->nev;
    batch_claims(r, &b);
    batch_events(r, &b);
    byron_status_t st;
    int dup = 0;
    /* Unavailable (no ack in time, reconnecting): the same message ids again
     * are safe, the stream de-duplicates them. */
    while ((st = byron_stream_append(r->c->o.stream, b.msgs, b.n, b.seqs, &dup, r->err)) ==
               BYRON_EUNAVAILABLE &&
           byron_clock_mono_s() < r->deadline)
        byron_clock_sleep_ms(byron_backoff_next(&r->bo));
    if (st == BYRON_OK && !dup) appended(r, &b);
    for (size_t i = 0; i < r->nev; i++) json_object_put(b.envs[i]);
    if (st == BYRON_ECONFLICT) { /* something we read changed: decide again on the new state */
        r->again = 1;
        return BYRON_OK;
    }
    if (st != BYRON_OK) return fail(r, BYRON_CODE_UNAVAILABLE, st);
    return dup ? read_back_duplicate(r, b.n == 1 ? b.seqs[0] : 0) : BYRON_OK;
}

/* ------------------------------------------------------------------ the command */

static void call_after(run_t *r) {
    char path[300];
    snprintf(path, sizeof path, "/v1/commands/%s/after", r->req->command);
    json_object_object_add(r->hook_body, "events", json_object_get(r->out->events));
    json_object_object_add(r->hook_body, "version", json_object_new_int64(r->out->version));
    json_object *resp = NULL;
    byron_err_t e = {0};
    byron_status_t st = byron_app_post(r->c->o.app, "after", path, r->hook_body, r->traceparent,
                                       r->c->o.app_timeout_ms, &resp, NULL, &e);
    json_object_put(resp);
    /* The events are durable: an after hook cannot undo them, only be told. */
    if (st != BYRON_OK && st != BYRON_ENOTFOUND)
        byron_log(BYRON_LOG_WARN, "after hook failed", "command", r->req->command, "id", r->out->id, "error",
                  e.msg, (char *)NULL);
}

/* One attempt; sets r->again when it lost a race and must run again. */
static byron_status_t attempt(run_t *r) {
    byron_status_t st;
    if ((st = read_last(r)) != BYRON_OK) return st;
    /* A re-sent command whose events are the aggregate's last: the original
     * result. Its events were appended together, the last one carries its
     * index: the first is that many sequences earlier. */
    size_t plen = strlen(r->id_prefix);
    if (r->last.seq && strncmp(r->last.msg_id, r->id_prefix, plen) == 0) {
        uint64_t index = strtoull(r->last.msg_id + plen, NULL, 10);
        return read_back(r, index < r->last.seq ? r->last.seq - index : 1);
    }
    if ((st = check_exists(r)) != BYRON_OK) return st;
    read_holdings(r);
    if ((st = read_state(r)) != BYRON_OK || r->again) return st;
    if ((st = plan_claims(r)) != BYRON_OK || r->again) return st;
    if ((st = decide(r)) != BYRON_OK || r->again) return st;
    return append(r);
}

static byron_status_t run(run_t *r) {
    byron_status_t st = prepare(r);
    if (st != BYRON_OK) return st;
    const char *label[] = {r->req->command};
    for (r->attempt = 1;; r->attempt++) {
        attempt_cleanup(r);
        if (r->attempt > r->c->o.max_attempts) {
            st = byron_err_set(r->err, BYRON_ECONFLICT, "%s %s kept changing: gave up after %d attempts",
                               r->m->name, r->id, r->c->o.max_attempts);
            fail(r, BYRON_CODE_CONFLICT, st);
            break;
        }
        st = attempt(r);
        if (r->last_cached && (st != BYRON_OK || r->again)) {
            /* It started from the tail cache, and only an append may end such
             * an attempt (tail_cache.h): decide again on the stream's latest
             * event, at once — a stale hint is not contention. */
            byron_tail_cache_drop(r->c->tail, r->subject, r->last.seq);
            r->fresh = 1;
            r->out->code = NULL;
            r->out->app_code[0] = '\0';
            r->attempt--;
            continue;
        }
        if (st != BYRON_OK || !r->again) break;
        if (r->c->conflicts) byron_metric_add(r->c->conflicts, label, 1);
        byron_clock_sleep_ms(byron_backoff_next(&r->bo));
    }
    if (st == BYRON_OK && !r->out->duplicate && r->c->o.app) call_after(r);
    attempt_cleanup(r);
    return st;
}

byron_status_t byron_commands_run(byron_commands_t *c, const byron_command_request_t *req,
                                  byron_command_result_t *out, byron_err_t *err) {
    memset(out, 0, sizeof *out);
    byron_err_t local = {0};
    if (!err) err = &local;
    double started = byron_clock_mono_s();
    json_object *empty = req->input ? NULL : json_object_new_object();
    run_t *r = calloc(1, sizeof *r);
    byron_status_t st;
    if (!r) {
        st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
        out->code = BYRON_CODE_INTERNAL;
    } else {
        *r = (run_t){.c = c,
                     .req = req,
                     .out = out,
                     .err = err,
                     .input = req->input ? req->input : empty,
                     .deadline = started + c->o.deadline_ms / 1000.0};
        byron_backoff_init(&r->bo, 2, 100, 0);
        st = run(r);
        free(r);
    }
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
    if (c->duration && st == BYRON_OK)
        byron_metric_observe(c->duration, labels, byron_clock_mono_s() - started);
    return st;
}

byron_status_t byron_commands_execute(byron_commands_t *c, const char *command_name, const char *id,
                                      json_object *input, const char *idempotency_key,
                                      byron_command_result_t *out, byron_err_t *err) {
    byron_command_request_t req = {
        .command = command_name, .id = id, .input = input, .idempotency_key = idempotency_key};
    return byron_commands_run(c, &req, out, err);
}
