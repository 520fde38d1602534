/* cli_rebuild.c — `kubectl byron rebuild COMPONENT`: ask for a zero-downtime
 * rebuild of the cache by setting spec.cache.rebuild to a new token (a merge
 * patch of that one field: the spec's other fields stay whoever's they are),
 * then follow the operator's report of it in status.rebuild until it says it
 * is done (docs/cli.md, docs/operator.md). */
#include "byron/clock.h"
#include "byron/json.h"
#include "cli_commands.h"
#include "cli_output.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The rebuild's report, wherever this operator version keeps it. */
static json_object *report_of(json_object *bc) {
    json_object *r = byron_cli_at(bc, "status", "rebuild", NULL);
    return r ? r : byron_cli_at(bc, "status", "cache", "rebuild", NULL);
}

static int phase_is(json_object *r, const char *const *names) {
    const char *p = byron_cli_str(r, "phase", NULL);
    for (; p && *names; names++)
        if (!strcasecmp(p, *names)) return 1;
    return 0;
}

/* Sets spec.cache.rebuild to token (a merge patch of that one field) and
 * checks that the API server kept it; *generation: the resource's after it. */
static int request_rebuild(byron_cli_kube_t *k, const char *component, const char *token, int64_t *generation,
                           byron_err_t *err) {
    char path[512];
    snprintf(path, sizeof path, "/apis/byron.io/v1alpha1/namespaces/%s/byroncomponents/%s", k->namespace_,
             component);
    json_object *patch = json_object_new_object(), *spec = json_object_new_object(),
                *cache = json_object_new_object();
    json_object_object_add(cache, "rebuild", json_object_new_string(token));
    json_object_object_add(spec, "cache", cache);
    json_object_object_add(patch, "spec", spec);
    json_object *after = NULL;
    byron_status_t st =
        byron_cli_kube_send(k, "PATCH", path, "application/merge-patch+json", patch, &after, err);
    json_object_put(patch);
    if (st != BYRON_OK) {
        if (st == BYRON_EINVAL && strstr(err->msg, "rebuild")) {
            byron_err_t e = *err;
            byron_err_set(err, st, "%s (this cluster's CRD may predate spec.cache.rebuild: upgrade Byron)",
                          e.msg);
        }
        return -1;
    }
    *generation = json_object_get_int64(byron_cli_at(after, "metadata", "generation", NULL));
    const char *stored = byron_cli_str(after, "spec", "cache", "rebuild", NULL);
    if (!stored || strcmp(stored, token) != 0) { /* pruned: a CRD from before the field */
        json_object_put(after);
        byron_err_set(
            err, BYRON_ESTATE,
            "the API server did not keep spec.cache.rebuild: this cluster's ByronComponent CRD predates "
            "zero-downtime rebuilds; upgrade Byron (its chart installs the CRD)");
        return -1;
    }
    json_object_put(after);
    return 0;
}

/* Shows the operator's report of the rebuild that token asked for, each
 * change once, until it completes, fails or the timeout passes. */
static int follow_rebuild(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, const char *token,
                          int64_t generation, byron_err_t *err) {
    static const char *const DONE[] = {"Complete", "Completed", "Succeeded", "Done", NULL};
    static const char *const FAILED[] = {"Failed", NULL};
    int timeout = a->timeout_s ? a->timeout_s : 1800;
    int64_t deadline = byron_clock_mono_ms() + (int64_t)timeout * 1000;
    char last[512] = "";
    for (;;) {
        json_object *bc = NULL;
        if (byron_cli_component(k, a->component, &bc, err) != BYRON_OK) return -1;
        json_object *r = report_of(bc);
        int64_t seen = json_object_get_int64(byron_cli_at(bc, "status", "observedGeneration", NULL));
        const char *req = byron_cli_str(r, "requested", NULL);
        /* ours: the operator saw our generation, and the report is about our token when it names one */
        int ours = r && seen >= generation && (!req || strstr(req, token));
        char line[512];
        if (ours) {
            const char *msg = byron_cli_str(r, "message", NULL);
            snprintf(line, sizeof line, "%s: %" PRId64 "/%" PRId64 " events projected%s%s",
                     byron_cli_str(r, "phase", NULL) ? byron_cli_str(r, "phase", NULL) : "Pending",
                     json_object_get_int64(byron_cli_at(r, "projected", NULL)),
                     json_object_get_int64(byron_cli_at(r, "total", NULL)), msg ? ": " : "", msg ? msg : "");
        } else {
            snprintf(line, sizeof line, "waiting for the operator to start it");
        }
        if (strcmp(line, last) != 0) {
            if (a->output == BYRON_CLI_OUT_TABLE) {
                fprintf(out, "%s\n", line);
            } else if (ours) {
                byron_cli_print_doc(out, a, r);
            }
            fflush(out);
            snprintf(last, sizeof last, "%s", line);
        }
        int done = ours && phase_is(r, DONE), failed = ours && phase_is(r, FAILED);
        json_object_put(bc);
        if (done) return 0;
        if (failed) {
            byron_err_set(err, BYRON_EIO, "the rebuild failed: %s", last);
            return -1;
        }
        if (byron_clock_mono_ms() > deadline) {
            byron_err_set(
                err, BYRON_ETIMEDOUT,
                "timed out after %d s waiting for the rebuild (it goes on: kubectl byron status %s)", timeout,
                a->component);
            return -1;
        }
        sleep(2);
    }
}

int byron_cli_rebuild(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err) {
    json_object *bc = NULL;
    if (byron_cli_component(k, a->component, &bc, err) != BYRON_OK) return -1;
    json_object_put(bc);
    char token[96];
    snprintf(token, sizeof token, "kubectl-byron-%lld", (long long)time(NULL));
    int64_t generation = 0;
    if (request_rebuild(k, a->component, token, &generation, err)) return -1;
    if (a->output == BYRON_CLI_OUT_TABLE)
        fprintf(out, "byroncomponent.byron.io/%s rebuild requested (spec.cache.rebuild: %s)\n", a->component,
                token);
    if (!a->wait) return 0;
    return follow_rebuild(k, a, out, token, generation, err);
}
