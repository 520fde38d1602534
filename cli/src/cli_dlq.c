/* cli_dlq.c — `kubectl byron dlq list|show|replay|drop COMPONENT`: the dead
 * letters, decided in the sink pod (`byron-sidecar --mode=admin dlq ...`,
 * docs/sink.md "Replaying a dead letter"), printed as kubectl prints. */
#include "cli_commands.h"
#include "cli_output.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void list_table(FILE *out, json_object *doc) {
    json_object *items = byron_cli_at(doc, "items", NULL);
    size_t n = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
    if (!n) {
        fprintf(stderr, "No dead letters.\n");
        return;
    }
    static const char *const H[] = {"SEQ",      "STATE", "EVENT", "TYPE", "AGGREGATE",
                                    "BLOCKING", "AGE",   "ERROR", NULL};
    byron_cli_table_t *t = byron_cli_table_new(H);
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(items, i);
        char seq[24], ev[24], agg[300], age[32];
        snprintf(seq, sizeof seq, "%" PRId64, json_object_get_int64(byron_cli_at(e, "deadLetter", NULL)));
        snprintf(ev, sizeof ev, "%" PRId64, json_object_get_int64(byron_cli_at(e, "sequence", NULL)));
        const char *model = byron_cli_str(e, "model", NULL), *id = byron_cli_str(e, "id", NULL);
        if (model && id)
            snprintf(agg, sizeof agg, "%s/%s", model, id);
        else
            snprintf(agg, sizeof agg, "%s",
                     byron_cli_str(e, "subject", NULL) ? byron_cli_str(e, "subject", NULL) : "");
        json_object *b = byron_cli_at(e, "blocking", NULL);
        byron_cli_age(byron_cli_str(e, "time", NULL), now, age, sizeof age);
        const char *row[] = {seq, byron_cli_str(e, "state", NULL),
                             ev,  byron_cli_str(e, "type", NULL),
                             agg, b ? (json_object_get_boolean(b) ? "yes" : "no") : "-",
                             age, byron_cli_str(e, "error", NULL)};
        byron_cli_table_row(t, row);
    }
    byron_cli_table_print(t, out, 90);
}

/* What a replay did, in sentences; 1 when every dead letter named is replayed. */
static int replay_text(FILE *out, json_object *doc) {
    json_object *reps = byron_cli_at(doc, "replays", NULL), *items = byron_cli_at(doc, "items", NULL);
    for (size_t i = 0; json_object_is_type(reps, json_type_array) && i < json_object_array_length(reps);
         i++) {
        json_object *r = json_object_array_get_idx(reps, i), *inv = byron_cli_at(r, "invalid", NULL),
                    *res = byron_cli_at(r, "resolved", NULL);
        const char *result = byron_cli_str(r, "result", NULL);
        fprintf(out,
                "%s/%s: %" PRId64 " events: %" PRId64 " projected, %" PRId64 " without a handler, %" PRId64
                " already in the cache, %zu invalid; %zu dead letter%s replayed%s\n",
                byron_cli_str(r, "model", NULL), byron_cli_str(r, "id", NULL),
                json_object_get_int64(byron_cli_at(r, "events", NULL)),
                json_object_get_int64(byron_cli_at(r, "projected", NULL)),
                json_object_get_int64(byron_cli_at(r, "unhandled", NULL)),
                json_object_get_int64(byron_cli_at(r, "skipped", NULL)),
                json_object_is_type(inv, json_type_array) ? json_object_array_length(inv) : 0,
                json_object_is_type(res, json_type_array) ? json_object_array_length(res) : 0,
                json_object_is_type(res, json_type_array) && json_object_array_length(res) == 1 ? "" : "s",
                json_object_get_boolean(byron_cli_at(r, "unblocked", NULL)) ? "; the aggregate runs again"
                                                                            : "");
        if (result && !strcmp(result, "failed"))
            fprintf(out,
                    "  still failing at sequence %" PRId64
                    ": %s\n  the aggregate stays stopped there: fix the app "
                    "and replay again\n",
                    json_object_get_int64(byron_cli_at(r, "failure", "sequence", NULL)),
                    byron_cli_str(r, "failure", "error", NULL));
        for (size_t k = 0; json_object_is_type(inv, json_type_array) && k < json_object_array_length(inv);
             k++)
            fprintf(out, "  invalid at sequence %" PRId64 ": %s\n",
                    json_object_get_int64(byron_cli_at(json_object_array_get_idx(inv, k), "sequence", NULL)),
                    byron_cli_str(json_object_array_get_idx(inv, k), "error", NULL));
    }
    int all = 1;
    for (size_t i = 0; json_object_is_type(items, json_type_array) && i < json_object_array_length(items);
         i++) {
        json_object *e = json_object_array_get_idx(items, i);
        const char *state = byron_cli_str(e, "state", NULL), *refused = byron_cli_str(e, "refused", NULL);
        int ok = state && !strcmp(state, "replayed");
        all &= ok;
        fprintf(out, "dead letter %" PRId64 " %s%s%s\n",
                json_object_get_int64(byron_cli_at(e, "deadLetter", NULL)), ok ? "replayed" : "still open",
                refused ? ": " : "", refused ? refused : "");
    }
    return all;
}

static int drop_text(FILE *out, json_object *doc) {
    json_object *items = byron_cli_at(doc, "items", NULL);
    int all = 1;
    for (size_t i = 0; json_object_is_type(items, json_type_array) && i < json_object_array_length(items);
         i++) {
        json_object *e = json_object_array_get_idx(items, i);
        const char *state = byron_cli_str(e, "state", NULL), *refused = byron_cli_str(e, "refused", NULL);
        all &= !refused;
        if (refused)
            fprintf(out, "dead letter %" PRId64 " not dropped: %s\n",
                    json_object_get_int64(byron_cli_at(e, "deadLetter", NULL)), refused);
        else
            fprintf(out, "dead letter %" PRId64 " %s\n",
                    json_object_get_int64(byron_cli_at(e, "deadLetter", NULL)),
                    state && !strcmp(state, "dropped") ? "dropped"
                    : state                            ? state
                                                       : "?");
    }
    return all;
}

int byron_cli_dlq(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err) {
    json_object *bc = NULL;
    if (byron_cli_component(k, a->component, &bc, err) != BYRON_OK) return -1;
    json_object_put(bc);
    const char *args[BYRON_CLI_MAX_SEQS + 12];
    char wait[32];
    int n = 0;
    args[n++] = "dlq";
    args[n++] = a->command == BYRON_CLI_DLQ_LIST     ? "list"
                : a->command == BYRON_CLI_DLQ_SHOW   ? "show"
                : a->command == BYRON_CLI_DLQ_REPLAY ? "replay"
                                                     : "drop";
    for (int i = 0; i < a->nseqs; i++) args[n++] = a->seqs[i];
    if (a->all) args[n++] = "--all";
    if (a->note) args[n++] = "--note", args[n++] = a->note;
    if (a->command == BYRON_CLI_DLQ_REPLAY && a->timeout_s) {
        snprintf(wait, sizeof wait, "%d", a->timeout_s * 1000);
        args[n++] = "--wait-ms", args[n++] = wait;
    }
    args[n] = NULL;
    json_object *doc = NULL;
    int code = 0;
    /* a replay waits for the lane and retries failing events: minutes at most */
    if (byron_cli_admin_json(k, a, args, a->command == BYRON_CLI_DLQ_REPLAY ? 0 : 120, &doc, &code, err) !=
        BYRON_OK)
        return -1;
    int rc = code;
    if (!byron_cli_print_doc(out, a, doc)) {
        switch (a->command) {
        case BYRON_CLI_DLQ_LIST: list_table(out, doc); break;
        case BYRON_CLI_DLQ_SHOW: byron_cli_print_yaml(out, doc, 0); break; /* a document: shown as YAML */
        case BYRON_CLI_DLQ_REPLAY: rc = replay_text(out, doc) ? 0 : 1; break;
        default: rc = drop_text(out, doc) ? 0 : 1; break;
        }
    }
    json_object_put(doc);
    return rc;
}
