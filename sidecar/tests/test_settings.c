/* test_settings.c — settings.c, row by row: every number refused when it is
 * not one or out of its bounds (the message names the flag or the variable),
 * accepted at its bounds; levels; the defaults docs/sidecar.md states; a flag
 * over its variable; what each mode requires. */
#include "byron/log.h"
#include "settings.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int rc;
    char err[4096], out[65536];
} result_t;

/* No BYRON_* variable of the table is set. */
static void clear_env(void) {
    byron_setting_info_t info;
    for (size_t i = 0; byron_settings_describe(i, &info); i++)
        if (info.env) unsetenv(info.env);
}

/* byron-sidecar --mode=<mode> with what the mode requires, then `extra`. */
static result_t parse(byron_settings_t *s, const char *mode, const char *extra) {
    char *argv[8] = {"byron-sidecar", NULL, "--nats-url=nats://x", "--mongo-uri=mongodb://x"};
    char mode_arg[32];
    snprintf(mode_arg, sizeof mode_arg, "--mode=%s", mode);
    argv[1] = mode_arg;
    int argc = 4;
    if (extra) argv[argc++] = (char *)extra;
    if (!strcmp(mode, "admin")) argv[argc++] = "status";
    argv[argc] = NULL;
    result_t r = {0};
    FILE *out = fmemopen(r.out, sizeof r.out - 1, "w"), *err = fmemopen(r.err, sizeof r.err - 1, "w");
    cr_assert(out && err);
    r.rc = byron_settings_parse(s, byron_settings_mode(argc, argv), argc, argv, out, err);
    fclose(out);
    fclose(err);
    return r;
}

static void refused(const char *mode, const char *extra, const char *names) {
    byron_settings_t s;
    result_t r = parse(&s, mode, extra);
    cr_assert_eq(r.rc, 2, "%s %s: accepted", mode, extra ? extra : "");
    cr_assert(strstr(r.err, names), "%s %s: the message does not name %s: %s", mode, extra ? extra : "",
              names, r.err);
}

static void accepted(const char *mode, const char *extra) {
    byron_settings_t s;
    result_t r = parse(&s, mode, extra);
    cr_assert_eq(r.rc, 0, "%s %s: %s", mode, extra ? extra : "", r.err);
}

static void check_number(const byron_setting_info_t *o) {
    char v[64], arg[160];
    const char *bad[] = {"", "12x", "x", "1.5", " 1"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        if (o->flag && *bad[k]) {
            snprintf(arg, sizeof arg, "--%s=%s", o->flag, bad[k]);
            snprintf(v, sizeof v, "--%s", o->flag);
            refused(o->mode, arg, v);
        }
        if (o->env && *bad[k]) {
            setenv(o->env, bad[k], 1);
            refused(o->mode, NULL, o->env);
            unsetenv(o->env);
        }
    }
    long long edges[2][2] = {{o->min, o->max}, {o->min - 1, o->max < LLONG_MAX ? o->max + 1 : o->min - 1}};
    for (int outside = 0; outside < 2; outside++)
        for (int k = 0; k < 2; k++) {
            snprintf(v, sizeof v, "%lld", edges[outside][k]);
            if (o->flag) {
                snprintf(arg, sizeof arg, "--%s=%s", o->flag, v);
                if (outside) {
                    char name[80];
                    snprintf(name, sizeof name, "--%s", o->flag);
                    refused(o->mode, arg, name);
                } else {
                    accepted(o->mode, arg);
                }
            }
            if (o->env) {
                setenv(o->env, v, 1);
                if (outside)
                    refused(o->mode, NULL, o->env);
                else
                    accepted(o->mode, NULL);
                unsetenv(o->env);
            }
        }
}

Test(settings, every_number_refused_outside_its_bounds_naming_it) {
    clear_env();
    byron_setting_info_t o;
    size_t numbers = 0;
    for (size_t i = 0; byron_settings_describe(i, &o); i++) {
        if (o.kind == BYRON_SETTING_NUMBER) {
            check_number(&o);
            numbers++;
        } else if (o.kind == BYRON_SETTING_SWITCH && o.env) {
            setenv(o.env, "2", 1);
            refused(o.mode, NULL, o.env);
            setenv(o.env, "1", 1);
            accepted(o.mode, NULL);
            unsetenv(o.env);
        } else if (o.kind == BYRON_SETTING_LEVEL) {
            char arg[80], name[80];
            snprintf(arg, sizeof arg, "--%s=loud", o.flag);
            snprintf(name, sizeof name, "--%s", o.flag);
            refused(o.mode, arg, name);
            if (o.env) {
                setenv(o.env, "loud", 1);
                refused(o.mode, NULL, o.env);
                unsetenv(o.env);
            }
        }
    }
    cr_assert_geq(numbers, 40, "only %zu numbers in the table", numbers);
}

Test(settings, defaults_as_documented) {
    clear_env();
    byron_settings_t s;
    result_t r = parse(&s, "api", NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_str_eq(s.mode, "api");
    cr_assert_str_eq(s.config, "/etc/byron/component.json");
    cr_assert_str_eq(s.sidecar_socket, "/var/run/byron/sidecar.sock");
    cr_assert_null(s.app_socket);
    cr_assert_null(s.bind);
    cr_assert_null(s.jwks_file);
    cr_assert_eq(s.http_port, 8080);
    cr_assert_eq(s.admin_port, 9090);
    cr_assert_eq(s.rest_tcp, 0);
    cr_assert_eq(s.max_inflight_mib, 64);
    cr_assert_eq(s.max_client_conns, 256);
    cr_assert_eq(s.jwks_min_refresh_ms, 10000);
    cr_assert_eq(s.workers, 8);
    cr_assert_eq(s.queue, 256);
    cr_assert_eq(s.app_timeout_ms, 5000);
    cr_assert_eq(s.max_attempts, 10);
    cr_assert_eq(s.state_wait_ms, 5000);
    cr_assert_eq(s.stream_replicas, 1);
    cr_assert_eq(s.stream_max_bytes, -1);
    cr_assert_eq(s.log_level, BYRON_LOG_INFO);
    cr_assert_eq(s.print_schema, 0);
    cr_assert_null(s.nats.creds);
    cr_assert_eq(s.sink.threads, 0);
    cr_assert_eq(s.sink.max_deliver, 5);
    cr_assert_eq(s.sink.retry_ms, 500);
    cr_assert_eq(s.sink.ack_wait_ms, 30000);
    cr_assert_eq(s.sink.dlq_attempts, 0);
    cr_assert_eq(s.sink.defer_ms, 600000);
    cr_assert_eq(s.sink.grace_ms, 60000);
    cr_assert_eq(s.sink.generation, 0);
    cr_assert_eq(s.graphql.limits.max_depth, 32);
    cr_assert_eq(s.graphql.max_body_bytes, 1u << 20);
    cr_assert_eq(s.graphql.ws_queue, 1024);
    cr_assert_eq(s.graphql.ws_workers, 2);
    r = parse(&s, "admin", NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(s.admin.wait_ms, 30000);
    cr_assert_eq(s.admin.limit, -1);
    cr_assert_eq(s.admin.app_timeout_ms, 5000);
    cr_assert_eq(s.admin.sink->max_deliver, 5);
    cr_assert_eq(s.log_level, BYRON_LOG_WARN);
    cr_assert_eq(s.admin.nwords, 1);
    cr_assert_str_eq(s.admin.words[0], "status");
    r = parse(&s, "verify", NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(s.verify.wait_ms, 10000);
    cr_assert_str_eq(s.verify.nats_url, "nats://x");
}

Test(settings, values_reach_their_structs_and_a_flag_beats_its_variable) {
    clear_env();
    byron_settings_t s;
    setenv("BYRON_WORKERS", "3", 1);
    setenv("BYRON_SINK_RETRY_MS", "250", 1);
    setenv("BYRON_NATS_CREDS", "/x.creds", 1);
    setenv("BYRON_GRAPHQL_MAX_SUBSCRIPTIONS", "7", 1);
    setenv("BYRON_SIDECAR_SOCKET", "", 1); /* empty: none */
    setenv("BYRON_LOG_LEVEL", "", 1);      /* empty: unset */
    result_t r = parse(&s, "sink", "--workers=5");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(s.workers, 5);
    cr_assert_eq(s.sink.retry_ms, 250);
    cr_assert_str_eq(s.nats.creds, "/x.creds");
    cr_assert_eq(s.graphql.max_subscriptions, 7);
    cr_assert_null(s.sidecar_socket);
    cr_assert_eq(s.log_level, BYRON_LOG_INFO);
    r = parse(&s, "api", "--graphql-max-depth=15");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(s.graphql.limits.max_depth, 15);
    cr_assert_eq(s.workers, 3);
    r = parse(&s, "admin", "--limit=7");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(s.admin.limit, 7);
    cr_assert_str_eq(s.admin.nats->creds, "/x.creds");
    cr_assert_eq(s.admin.sink->retry_ms, 250);
    clear_env();
}

Test(settings, what_each_mode_requires) {
    clear_env();
    byron_settings_t s;
    char *no_url[] = {"byron-sidecar", "--mode=api", "--mongo-uri=m", NULL};
    FILE *devnull = fopen("/dev/null", "w");
    cr_assert_eq(byron_settings_parse(&s, "api", 3, no_url, devnull, devnull), 2);
    char *no_mode[] = {"byron-sidecar", "--nats-url=n", "--mongo-uri=m", NULL};
    cr_assert_null(byron_settings_mode(3, no_mode));
    cr_assert_eq(byron_settings_parse(&s, NULL, 3, no_mode, devnull, devnull), 2);
    char *schema[] = {"byron-sidecar", "--print-schema", "--config=c.json", NULL};
    cr_assert_eq(byron_settings_parse(&s, NULL, 3, schema, devnull, devnull), 0);
    cr_assert_eq(s.print_schema, 1);
    char *spaced[] = {"byron-sidecar", "--mode", "verify", NULL};
    cr_assert_str_eq(byron_settings_mode(3, spaced), "verify");
    setenv("BYRON_MODE", "admin", 1);
    cr_assert_str_eq(byron_settings_mode(3, no_mode), "admin");
    unsetenv("BYRON_MODE");
    fclose(devnull);
    refused("worker", NULL, "--mode: \"worker\" is not api or sink");
    refused("admin", "--id=7", "--id needs --model");
    refused("verify", "extra", "unexpected argument \"extra\"");
    refused("api", "--wait-ms=5", "unknown or incomplete option");
    refused("verify", "--workers=5", "unknown or incomplete option");
}

Test(settings, help_lists_every_flag_of_the_mode) {
    clear_env();
    const char *modes[] = {"api", "admin", "verify"};
    for (size_t m = 0; m < 3; m++) {
        byron_settings_t s;
        result_t r = parse(&s, modes[m], "--help");
        cr_assert_eq(r.rc, 1, "%s: %s", modes[m], r.err);
        byron_setting_info_t o;
        for (size_t i = 0; byron_settings_describe(i, &o); i++) {
            if (!o.flag || strcmp(o.mode, modes[m]) != 0) continue;
            char name[80];
            snprintf(name, sizeof name, "--%s", o.flag);
            cr_assert(strstr(r.out, name), "%s --help: no %s", modes[m], name);
        }
    }
}
