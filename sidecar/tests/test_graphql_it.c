/* test_graphql_it.c — the GraphQL API against real clients (integration tier).
 *
 * The checks are Node scripts using the clients people actually run
 * (graphql-js, graphql-ws, graphql-http's audits; sidecar/tests/clients/);
 * graphql_clients_it.py starts a real byron-sidecar and the reference app
 * against the testenv's nats-server and FerretDB and runs them. This test
 * runs that wrapper once per script, so a failure names the client.
 *
 * stress.cjs (issue 17) is every public surface at once: 16 HTTP connections
 * sending every kind of GraphQL operation, REST commands and cache reads,
 * WebSocket subscriptions opened and closed while events flow, every answer
 * checked; the sidecar must survive and exit 0 without a sanitizer report.
 * Its own ctest, sidecar_stress, puts it in the concurrency tier (TSan). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static void run_script(const char *script) {
    const char *src = getenv("BYRON_SOURCE_DIR");
    cr_assert_not_null(src, "BYRON_SOURCE_DIR is not set (run through ctest)");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "python3 %s/sidecar/tests/graphql_clients_it.py %s 2>&1", src, script);
    fflush(stdout);
    int rc = system(cmd);
    cr_assert(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s failed (exit %d); output above", script,
              WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
}

Test(graphql_it, graphql_js_schema_validation_queries, .timeout = 300) { run_script("schema_check.cjs"); }
Test(graphql_it, plain_http_statuses_mutations_errors, .timeout = 300) { run_script("http_check.cjs"); }
Test(graphql_it, graphql_ws_subscriptions, .timeout = 300) { run_script("ws_check.cjs"); }
Test(graphql_it, graphql_http_server_audits, .timeout = 300) { run_script("audit.cjs"); }
Test(graphql_it, one_consumer_per_model_fanned_out, .timeout = 300) { run_script("subs_check.cjs"); }
Test(graphql_it, stress_every_surface_at_once, .timeout = 900) { run_script("stress.cjs"); }

/* Identity against a real OpenID Connect provider (Ory Hydra from the testenv):
 * attacks refused with 401, the authorization matrix over HTTP and WebSocket,
 * CORS, expiry and key rotation (auth_clients_it.py, clients/auth_check.cjs). */
Test(graphql_it, identity_with_a_real_provider, .timeout = 300) {
    const char *src = getenv("BYRON_SOURCE_DIR");
    cr_assert_not_null(src, "BYRON_SOURCE_DIR is not set (run through ctest)");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "python3 %s/sidecar/tests/auth_clients_it.py 2>&1", src);
    fflush(stdout);
    int rc = system(cmd);
    cr_assert(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
              "auth_clients_it.py failed (exit %d); output above", WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
}
