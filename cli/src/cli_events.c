/* cli_events.c — `kubectl byron events COMPONENT`: the event log, read in the
 * sink pod (`byron-sidecar --mode=admin events`), printed as it arrives: a
 * table row per event, or one JSON document per event (-o json: a stream of
 * documents, as `kubectl get -w -o json` prints), or YAML documents. */
#include "byron/json.h"
#include "cli_commands.h"
#include "cli_output.h"
#include "cli_runner.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct printer {
    const byron_cli_args_t *a;
    FILE *out;
    int rows, bad;
} printer_t;

/* kubectl's table, one row at a time: fixed widths, since rows come as they
 * are appended and cannot be measured first. */
static void row(FILE *out, const char *seq, const char *time, const char *type, const char *agg,
                const char *ver, const char *data) {
    fprintf(out, "%-10s %-24s %-22s %-28s %-8s %s\n", seq, time, type, agg, ver, data);
}

static int on_event(void *ud, const char *line, size_t len) {
    printer_t *p = ud;
    json_object *o = NULL;
    if (byron_json_parse(line, len, 128, &o, NULL) != BYRON_OK) {
        p->bad++;
        return 0;
    }
    if (p->a->output == BYRON_CLI_OUT_JSON) {
        byron_cli_print_json(p->out, o);
    } else if (p->a->output == BYRON_CLI_OUT_YAML) {
        byron_cli_print_yaml(p->out, o, 1);
    } else {
        if (!p->rows) row(p->out, "SEQUENCE", "TIME", "TYPE", "AGGREGATE", "VERSION", "DATA");
        json_object *ev = byron_cli_at(o, "event", NULL);
        char seq[24], agg[300], ver[24], data[200];
        snprintf(seq, sizeof seq, "%" PRId64, json_object_get_int64(byron_cli_at(o, "sequence", NULL)));
        const char *model = byron_cli_str(ev, "byronmodel", NULL), *id = byron_cli_str(ev, "subject", NULL);
        snprintf(agg, sizeof agg, "%s/%s", model ? model : "?", id ? id : "?");
        snprintf(ver, sizeof ver, "%" PRId64, json_object_get_int64(byron_cli_at(ev, "byronversion", NULL)));
        json_object *d = byron_cli_at(ev, "data", NULL);
        const char *dt =
            d    ? json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
            : ev ? ""
                 : "(not an event envelope)";
        snprintf(data, sizeof data, "%s", dt);
        if (strlen(dt) >= sizeof data) strcpy(data + sizeof data - 4, "...");
        const char *type = byron_cli_str(ev, "type", NULL), *time = byron_cli_str(o, "time", NULL);
        row(p->out, seq, time ? time : "", type ? type : "?", agg, ver, data);
    }
    fflush(p->out);
    p->rows++;
    json_object_put(o);
    return 0;
}

int byron_cli_events(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err) {
    json_object *bc = NULL;
    if (byron_cli_component(k, a->component, &bc, err) != BYRON_OK) return -1;
    json_object_put(bc);
    const char *args[16];
    char from[32], limit[32];
    int n = 0;
    args[n++] = "events";
    if (a->model) args[n++] = "--model", args[n++] = a->model;
    if (a->id) args[n++] = "--id", args[n++] = a->id;
    if (a->from) {
        snprintf(from, sizeof from, "%" PRIu64, a->from);
        args[n++] = "--from", args[n++] = from;
    }
    /* without --follow a default limit keeps a long log from flooding the terminal */
    int64_t lim = a->limit >= 0 ? a->limit : a->follow ? 0 : 1000;
    if (lim > 0) {
        snprintf(limit, sizeof limit, "%" PRId64, lim);
        args[n++] = "--limit", args[n++] = limit;
    }
    if (a->follow) args[n++] = "--follow";
    args[n] = NULL;
    printer_t p = {.a = a, .out = out};
    char *errtext = NULL;
    int code = 0;
    byron_cli_run_t r = {.component = a->component,
                         .mode = "admin",
                         .args = args,
                         .direct = a->direct,
                         .stdin_open = a->follow,
                         .on_line = on_event,
                         .ud = &p};
    if (byron_cli_run(k, &r, &code, &errtext, err) != BYRON_OK) {
        free(errtext);
        return -1;
    }
    if (code) {
        byron_err_set(err, code == 2 ? BYRON_EINVAL : BYRON_EUNAVAILABLE, "%s",
                      errtext && *errtext ? errtext : "reading the log failed");
        free(errtext);
        return -1;
    }
    free(errtext);
    if (!p.rows && a->output == BYRON_CLI_OUT_TABLE) fprintf(stderr, "No events found.\n");
    if (!a->follow && lim > 0 && p.rows == lim)
        fprintf(stderr, "(the first %" PRId64 " events: --limit N or --from SEQ for more)\n", lim);
    return 0;
}
