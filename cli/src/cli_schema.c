/* cli_schema.c — `kubectl byron schema COMPONENT` (the SDL, generated here
 * from the configuration the pods run, by the same generator the API uses)
 * and `kubectl byron verify COMPONENT` (the fold checker, in the sink pod). */
#include "byron/json.h"
#include "cli_commands.h"
#include "cli_output.h"
#include "cli_runner.h"
#include "component_schema.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int byron_cli_schema(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err) {
    json_object *config = NULL;
    if (byron_cli_component_config(k, a->component, &config, NULL, err) != BYRON_OK) return -1;
    byron_component_t *comp = NULL;
    byron_graphql_schema_t *schema = NULL;
    byron_err_t e = {0};
    byron_status_t st = byron_component_parse(config, &comp, &e);
    if (st == BYRON_OK) st = byron_component_schema(comp, &schema, &e);
    json_object_put(config);
    if (st != BYRON_OK) {
        byron_component_free(comp);
        byron_err_set(err, BYRON_EINVAL, "%s's configuration does not make a schema: %s", a->component,
                      e.msg);
        return -1;
    }
    char *sdl = byron_graphql_schema_print(schema);
    byron_graphql_schema_free(schema);
    byron_component_free(comp);
    if (!sdl) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return -1;
    }
    fputs(sdl, out);
    free(sdl);
    return 0;
}

typedef struct report {
    const byron_cli_args_t *a;
    FILE *out;
    json_object *summary;
    int findings;
} report_t;

static int on_finding(void *ud, const char *line, size_t len) {
    report_t *r = ud;
    json_object *o = NULL;
    if (byron_json_parse(line, len, 64, &o, NULL) != BYRON_OK) return 0;
    const char *kind = byron_cli_str(o, "kind", NULL);
    if (kind && !strcmp(kind, "summary")) {
        json_object_put(r->summary);
        r->summary = o;
        return 0;
    }
    r->findings++;
    if (r->a->output == BYRON_CLI_OUT_TABLE)
        fprintf(r->out, "%s\n",
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    else if (r->a->output == BYRON_CLI_OUT_JSON)
        byron_cli_print_json(r->out, o);
    else
        byron_cli_print_yaml(r->out, o, 1);
    json_object_put(o);
    return 0;
}

int byron_cli_verify(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err) {
    json_object *bc = NULL;
    if (byron_cli_component(k, a->component, &bc, err) != BYRON_OK) return -1;
    json_object_put(bc);
    char wait[32];
    snprintf(wait, sizeof wait, "%d", (a->timeout_s ? a->timeout_s : 10) * 1000);
    const char *args[] = {"--wait-ms", wait, NULL};
    report_t r = {.a = a, .out = out};
    char *errtext = NULL;
    int code = 0;
    byron_cli_run_t run = {.component = a->component,
                           .mode = "verify",
                           .args = args,
                           .direct = a->direct,
                           .on_line = on_finding,
                           .ud = &r};
    if (byron_cli_run(k, &run, &code, &errtext, err) != BYRON_OK) {
        free(errtext);
        return -1;
    }
    if (!r.summary) {
        byron_err_set(err, BYRON_EUNAVAILABLE, "the fold checker gave no answer (exit %d): %s", code,
                      errtext && *errtext ? errtext : "no message");
        free(errtext);
        return -1;
    }
    free(errtext);
    json_object *s = r.summary;
    if (a->output == BYRON_CLI_OUT_JSON)
        byron_cli_print_json(out, s);
    else if (a->output == BYRON_CLI_OUT_YAML)
        byron_cli_print_yaml(out, s, 1);
    else {
        const char *result = byron_cli_str(s, "result", NULL), *why = byron_cli_str(s, "error", NULL);
        if (why)
            fprintf(out, "%s: %s\n", result ? result : "unknown", why);
        else
            fprintf(out,
                    "%s: %" PRId64 " events folded (%" PRId64 " applied, %" PRId64 " dead-lettered), %" PRId64
                    " aggregates, %" PRId64 " documents, %" PRId64 " difference%s%s\n",
                    result ? result : "?", json_object_get_int64(byron_cli_at(s, "events", NULL)),
                    json_object_get_int64(byron_cli_at(s, "applied", NULL)),
                    json_object_get_int64(byron_cli_at(s, "dead_lettered", NULL)),
                    json_object_get_int64(byron_cli_at(s, "aggregates", NULL)),
                    json_object_get_int64(byron_cli_at(s, "documents", NULL)),
                    json_object_get_int64(byron_cli_at(s, "differences", NULL)),
                    json_object_get_int64(byron_cli_at(s, "differences", NULL)) == 1 ? "" : "s",
                    json_object_get_int64(byron_cli_at(s, "order_dependent", NULL))
                        ? " (and order-dependent ones, "
                          "which do not count)"
                        : "");
    }
    json_object_put(s);
    return code; /* the checker's: 0 equal, 1 differs, 3 not settled or unreachable */
}
