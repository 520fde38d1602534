/* cli_status.c — `kubectl byron status [COMPONENT]`: the resource's status
 * (what the operator reports: conditions, replicas, cache, stream, lag, dead
 * letters), and for one component the live detail from its sink pod
 * (`byron-sidecar --mode=admin status`: every lane, dead letters by state,
 * blocked aggregates, documents per model). */
#include "byron/buf.h"
#include "byron/json.h"
#include "cli_commands.h"
#include "cli_output.h"
#include "cli_runner.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

json_object *byron_cli_at(json_object *o, ...) {
    va_list ap;
    va_start(ap, o);
    for (const char *k; o && (k = va_arg(ap, const char *));) o = json_object_object_get(o, k);
    va_end(ap);
    return o;
}

const char *byron_cli_str(json_object *o, ...) {
    va_list ap;
    va_start(ap, o);
    for (const char *k; o && (k = va_arg(ap, const char *));) o = json_object_object_get(o, k);
    va_end(ap);
    return o && !json_object_is_type(o, json_type_object) && !json_object_is_type(o, json_type_array)
               ? json_object_get_string(o)
               : NULL;
}

int byron_cli_print_doc(FILE *out, const byron_cli_args_t *a, json_object *o) {
    if (a->output == BYRON_CLI_OUT_JSON) {
        byron_cli_print_json(out, o);
        return 1;
    }
    if (a->output == BYRON_CLI_OUT_YAML) {
        byron_cli_print_yaml(out, o, 0);
        return 1;
    }
    return 0;
}

/* The admin command's output lines, newline-terminated, into a byron_buf_t. */
static int collect(void *ud, const char *line, size_t len) {
    return byron_buf_append(ud, line, len) != 0 || byron_buf_append(ud, "\n", 1) != 0;
}

byron_status_t byron_cli_admin_json(byron_cli_kube_t *k, const byron_cli_args_t *a, const char *const *args,
                                    int timeout_s, json_object **doc, int *code, byron_err_t *err) {
    byron_buf_t text = {0};
    char *errtext = NULL;
    byron_cli_run_t r = {.component = a->component,
                         .mode = "admin",
                         .args = args,
                         .direct = a->direct,
                         .timeout_s = timeout_s,
                         .on_line = collect,
                         .ud = &text};
    *doc = NULL;
    byron_status_t st = byron_cli_run(k, &r, code, &errtext, err);
    if (st == BYRON_OK) {
        if (text.buf && byron_json_parse(text.buf, strlen(text.buf), 128, doc, NULL) == BYRON_OK) {
            /* the document says what happened, whatever the exit status */
        } else if (*code != 0) {
            st = byron_err_set(err, *code == 2 ? BYRON_EINVAL : BYRON_EUNAVAILABLE, "%s",
                               errtext && *errtext ? errtext : "the command failed without a message");
        } else {
            st = byron_err_set(err, BYRON_EPROTO, "byron-sidecar --mode=admin answered no JSON document");
        }
    }
    byron_buf_free(&text);
    free(errtext);
    return st;
}

/* ---- every component ---------------------------------------------------- */

static const char *condition(json_object *bc, const char *type, const char **reason) {
    json_object *cs = byron_cli_at(bc, "status", "conditions", NULL);
    for (size_t i = 0; json_object_is_type(cs, json_type_array) && i < json_object_array_length(cs); i++) {
        json_object *c = json_object_array_get_idx(cs, i);
        const char *t = byron_cli_str(c, "type", NULL);
        if (t && !strcmp(t, type)) {
            if (reason) *reason = byron_cli_str(c, "reason", NULL);
            return byron_cli_str(c, "status", NULL);
        }
    }
    if (reason) *reason = NULL;
    return NULL;
}

static void num_or_dash(json_object *v, char *buf, size_t cap) {
    if (v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
        snprintf(buf, cap, "%" PRId64, json_object_get_int64(v));
    else
        snprintf(buf, cap, "-");
}

/* The summary of one ByronComponent, as -o json shows it. */
static json_object *summary(json_object *bc) {
    json_object *o = json_object_new_object(), *st = byron_cli_at(bc, "status", NULL), *v;
    json_object_object_add(o, "name", json_object_new_string(byron_cli_str(bc, "metadata", "name", NULL)));
    json_object_object_add(o, "namespace",
                           json_object_new_string(byron_cli_str(bc, "metadata", "namespace", NULL)));
    static const char *const COPY[] = {
        "conditions",         "api",    "sink", "cache", "stream", "deadLetters", "graphqlEndpoint",
        "observedGeneration", "rebuild"};
    for (size_t i = 0; st && i < sizeof COPY / sizeof COPY[0]; i++)
        if (json_object_object_get_ex(st, COPY[i], &v))
            json_object_object_add(o, COPY[i], json_object_get(v));
    return o;
}

/* The cache's state, and a rebuild under way: "Ready (rebuild 64/304)". */
static void cache_cell(json_object *bc, char *buf, size_t cap) {
    const char *state = byron_cli_str(bc, "status", "cache", "state", NULL),
               *phase = byron_cli_str(bc, "status", "rebuild", "phase", NULL);
    if (phase && (!strcmp(phase, "Pending") || !strcmp(phase, "Building")))
        snprintf(buf, cap, "%s (rebuild %" PRId64 "/%" PRId64 ")", state ? state : "-",
                 json_object_get_int64(byron_cli_at(bc, "status", "rebuild", "projected", NULL)),
                 json_object_get_int64(byron_cli_at(bc, "status", "rebuild", "total", NULL)));
    else
        snprintf(buf, cap, "%s", state ? state : "-");
}

static int status_all(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err) {
    json_object *items = NULL;
    if (byron_cli_components(k, &items, err) != BYRON_OK) return -1;
    size_t n = json_object_array_length(items);
    if (a->output != BYRON_CLI_OUT_TABLE) {
        json_object *doc = json_object_new_object(), *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(arr, summary(json_object_array_get_idx(items, i)));
        json_object_object_add(doc, "items", arr);
        byron_cli_print_doc(out, a, doc);
        json_object_put(doc);
        json_object_put(items);
        return 0;
    }
    if (!n) {
        fprintf(stderr, "No resources found in %s namespace.\n", k->namespace_);
        json_object_put(items);
        return 0;
    }
    static const char *const H[] = {"NAME",   "READY", "API",          "SINK", "CACHE",
                                    "EVENTS", "LAG",   "DEAD LETTERS", "AGE",  NULL};
    byron_cli_table_t *t = byron_cli_table_new(H);
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        json_object *bc = json_object_array_get_idx(items, i);
        char events[32], lag[32], dead[32], age[32], cache[96];
        cache_cell(bc, cache, sizeof cache);
        num_or_dash(byron_cli_at(bc, "status", "stream", "messages", NULL), events, sizeof events);
        num_or_dash(byron_cli_at(bc, "status", "sink", "lag", NULL), lag, sizeof lag);
        num_or_dash(byron_cli_at(bc, "status", "deadLetters", NULL), dead, sizeof dead);
        byron_cli_age(byron_cli_str(bc, "metadata", "creationTimestamp", NULL), now, age, sizeof age);
        const char *ready = condition(bc, "Ready", NULL);
        const char *row[] = {byron_cli_str(bc, "metadata", "name", NULL),
                             ready ? ready : "Unknown",
                             byron_cli_str(bc, "status", "api", "ready", NULL),
                             byron_cli_str(bc, "status", "sink", "ready", NULL),
                             cache,
                             events,
                             lag,
                             dead,
                             age};
        byron_cli_table_row(t, row);
    }
    byron_cli_table_print(t, out, 0);
    json_object_put(items);
    return 0;
}

/* ---- one component ------------------------------------------------------ */

/* The Ready condition's companions, as a table. */
static void print_conditions(FILE *out, json_object *bc, int64_t now) {
    json_object *cs = byron_cli_at(bc, "status", "conditions", NULL);
    if (json_object_is_type(cs, json_type_array) && json_object_array_length(cs)) {
        fprintf(out, "Conditions:\n");
        static const char *const H[] = {"  TYPE", "STATUS", "REASON", "AGE", "MESSAGE", NULL};
        byron_cli_table_t *t = byron_cli_table_new(H);
        for (size_t i = 0; i < json_object_array_length(cs); i++) {
            json_object *c = json_object_array_get_idx(cs, i);
            char type[128], age[32];
            snprintf(type, sizeof type, "  %s",
                     byron_cli_str(c, "type", NULL) ? byron_cli_str(c, "type", NULL) : "");
            byron_cli_age(byron_cli_str(c, "lastTransitionTime", NULL), now, age, sizeof age);
            const char *row[] = {type, byron_cli_str(c, "status", NULL), byron_cli_str(c, "reason", NULL),
                                 age, byron_cli_str(c, "message", NULL)};
            byron_cli_table_row(t, row);
        }
        byron_cli_table_print(t, out, 100);
    }
}

/* Replicas, cache, endpoint, the last rebuild and the stream (live when the
 * sink pod answered, else the resource's status). */
static void print_workloads(FILE *out, json_object *bc, json_object *live) {
    const char *api = byron_cli_str(bc, "status", "api", "ready", NULL),
               *sink = byron_cli_str(bc, "status", "sink", "ready", NULL),
               *cache = byron_cli_str(bc, "status", "cache", "state", NULL),
               *ep = byron_cli_str(bc, "status", "graphqlEndpoint", NULL);
    fprintf(out, "API:           %s ready\n", api ? api : "-");
    fprintf(out, "Sink:          %s ready\n", sink ? sink : "-");
    fprintf(out, "Cache:         %s\n", cache ? cache : "-");
    if (ep) fprintf(out, "Endpoint:      %s\n", ep);
    json_object *rb = byron_cli_at(bc, "status", "rebuild", NULL);
    if (rb) { /* the last rebuild asked for (spec.cache.rebuild), as the operator reads it */
        const char *phase = byron_cli_str(rb, "phase", NULL), *req = byron_cli_str(rb, "requested", NULL);
        fprintf(out, "Rebuild:       %s  %" PRId64 "/%" PRId64 " events  generation %" PRId64 "%s%s\n",
                phase ? phase : "-", json_object_get_int64(byron_cli_at(rb, "projected", NULL)),
                json_object_get_int64(byron_cli_at(rb, "total", NULL)),
                json_object_get_int64(byron_cli_at(rb, "generation", NULL)), req ? "  token " : "",
                req ? req : "");
    }
    json_object *stream =
        live ? byron_cli_at(live, "stream", NULL) : byron_cli_at(bc, "status", "stream", NULL);
    if (stream) {
        char bytes[32];
        byron_cli_bytes((uint64_t)json_object_get_int64(byron_cli_at(stream, "bytes", NULL)), bytes,
                        sizeof bytes);
        int64_t replicas = json_object_get_int64(byron_cli_at(stream, "replicas", NULL));
        fprintf(out, "Stream:        %s  %" PRId64 " events  %s  %" PRId64 " replica%s\n",
                byron_cli_str(stream, "name", NULL) ? byron_cli_str(stream, "name", NULL) : "",
                json_object_get_int64(byron_cli_at(stream, "messages", NULL)), bytes, replicas,
                replicas == 1 ? "" : "s");
    }
}

/* Each lane of the sink: its consumer and where it stands. */
static void print_lanes(FILE *out, json_object *live) {
    json_object *lanes = byron_cli_at(live, "lanes", NULL);
    static const char *const LH[] = {"  LANE",    "CONSUMER",  "PENDING", "UNACKED",
                                     "DELIVERED", "ACK FLOOR", NULL};
    byron_cli_table_t *t = byron_cli_table_new(LH);
    for (size_t i = 0; json_object_is_type(lanes, json_type_array) && i < json_object_array_length(lanes);
         i++) {
        json_object *l = json_object_array_get_idx(lanes, i);
        char lane[160], p[4][32];
        const char *kind = byron_cli_str(l, "kind", NULL);
        if (kind && !strcmp(kind, "partition"))
            snprintf(lane, sizeof lane, "  partition %" PRId64,
                     json_object_get_int64(byron_cli_at(l, "partition", NULL)));
        else
            snprintf(lane, sizeof lane, "  %s",
                     byron_cli_str(l, "stream", NULL) ? byron_cli_str(l, "stream", NULL) : "?");
        static const char *const K[] = {"pending", "ackPending", "delivered", "ackFloor"};
        for (int c = 0; c < 4; c++) num_or_dash(byron_cli_at(l, K[c], NULL), p[c], sizeof p[c]);
        const char *e = byron_cli_str(l, "error", NULL);
        const char *row[] = {lane,           byron_cli_str(l, "consumer", NULL),
                             e ? e : p[0],   e ? "-" : p[1],
                             e ? "-" : p[2], e ? "-" : p[3]};
        byron_cli_table_row(t, row);
    }
    byron_cli_table_print(t, out, 80);
}

/* Dead letters by state, blocked aggregates and documents per model. */
static void print_dead_letters_and_cache(FILE *out, json_object *bc, json_object *live) {
    json_object *d = byron_cli_at(live, "deadLetters", NULL);
    int64_t open = json_object_get_int64(byron_cli_at(d, "open", NULL));
    fprintf(out, "Dead letters:  %" PRId64 " open (%" PRId64 " replayed, %" PRId64 " dropped)%s%s\n", open,
            json_object_get_int64(byron_cli_at(d, "replayed", NULL)),
            json_object_get_int64(byron_cli_at(d, "dropped", NULL)), open ? ": kubectl byron dlq list " : "",
            open ? byron_cli_str(bc, "metadata", "name", NULL) : "");
    json_object *blocked = byron_cli_at(live, "cache", "blocked", NULL);
    for (size_t i = 0; json_object_is_type(blocked, json_type_array) && i < json_object_array_length(blocked);
         i++) {
        json_object *b = json_object_array_get_idx(blocked, i);
        fprintf(out, "%s%s stopped at version %" PRId64 " by sequence %" PRId64 ": %s\n",
                i ? "               " : "Blocked:       ", byron_cli_str(b, "aggregate", NULL),
                json_object_get_int64(byron_cli_at(b, "version", NULL)),
                json_object_get_int64(byron_cli_at(b, "sequence", NULL)),
                byron_cli_str(b, "reason", NULL) ? byron_cli_str(b, "reason", NULL) : "");
    }
    json_object *docs = byron_cli_at(live, "cache", "documents", NULL);
    if (docs) {
        fprintf(out, "Documents:    ");
        int first = 1;
        json_object_object_foreach(docs, model, count) {
            fprintf(out, "%s %s %" PRId64, first ? "" : ",", model, json_object_get_int64(count));
            first = 0;
        }
        fprintf(out, "\n");
    }
}

static void print_detail(FILE *out, json_object *bc, json_object *live, const char *live_error) {
    const char *reason = NULL, *ready = condition(bc, "Ready", &reason);
    fprintf(out, "Name:          %s\n", byron_cli_str(bc, "metadata", "name", NULL));
    fprintf(out, "Namespace:     %s\n", byron_cli_str(bc, "metadata", "namespace", NULL));
    fprintf(out, "Ready:         %s%s%s%s\n", ready ? ready : "Unknown", reason ? " (" : "",
            reason ? reason : "", reason ? ")" : "");
    print_conditions(out, bc, (int64_t)time(NULL));
    print_workloads(out, bc, live);
    if (!live) {
        json_object *lag = byron_cli_at(bc, "status", "sink", "lag", NULL),
                    *dl = byron_cli_at(bc, "status", "deadLetters", NULL);
        if (lag) fprintf(out, "Sink lag:      %" PRId64 " events\n", json_object_get_int64(lag));
        if (dl) fprintf(out, "Dead letters:  %" PRId64 " open\n", json_object_get_int64(dl));
        fprintf(out, "Live detail:   unavailable: %s\n", live_error);
        return;
    }
    fprintf(out, "Sink lag:      %" PRId64 " events\n",
            json_object_get_int64(byron_cli_at(live, "lag", NULL)));
    print_lanes(out, live);
    print_dead_letters_and_cache(out, bc, live);
}

static int status_one(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err) {
    json_object *bc = NULL, *live = NULL;
    if (byron_cli_component(k, a->component, &bc, err) != BYRON_OK) return -1;
    static const char *const ARGS[] = {"status", NULL};
    byron_err_t lerr = {0};
    int code = 0;
    if (byron_cli_admin_json(k, a, ARGS, 60, &live, &code, &lerr) != BYRON_OK) {
        live = NULL;
        if (a->output == BYRON_CLI_OUT_TABLE)
            fprintf(stderr, "warning: live detail unavailable: %s\n", lerr.msg);
    }
    int rc = 0;
    if (a->output != BYRON_CLI_OUT_TABLE) {
        json_object *doc = summary(bc);
        if (live) {
            json_object *v;
            static const char *const LIVE[] = {"stream", "lag",        "lanes",           "deadLetters",
                                               "cache",  "partitions", "schemaGeneration"};
            for (size_t i = 0; i < sizeof LIVE / sizeof LIVE[0]; i++)
                if (json_object_object_get_ex(live, LIVE[i], &v)) {
                    const char *key = !strcmp(LIVE[i], "cache") ? "cacheContents" : LIVE[i];
                    json_object_object_add(doc, key, json_object_get(v));
                }
        } else {
            json_object_object_add(doc, "liveError", json_object_new_string(lerr.msg));
        }
        byron_cli_print_doc(out, a, doc);
        json_object_put(doc);
    } else {
        print_detail(out, bc, live, lerr.msg);
    }
    json_object_put(live);
    json_object_put(bc);
    return rc;
}

int byron_cli_status(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err) {
    return a->component ? status_one(k, a, out, err) : status_all(k, a, out, err);
}
