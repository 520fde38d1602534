/* engine_server.c — Byron's GraphQL layer with no cache behind it, for
 * scripts/bench's comparison with other GraphQL servers (docs/benchmarks.md,
 * "GraphQL engine").
 *
 *   bench_graphql_engine --config component.json [--port P] [--workers W] [--orders N]
 *
 * The api sidecar's own parts: its HTTP server (server.c: libwebsockets, the
 * worker pool), the schema generated from component.json
 * (byron_component_schema) and the engine's GraphQL-over-HTTP handler, with
 * the limits the sidecar applies. Only the resolvers differ: instead of the
 * cache and the stream they answer from N generated orders in memory, as the
 * other servers of the comparison do (bench/peers): an order is built per
 * request from plain C data (json-c objects cannot be shared across threads),
 * which is what the sidecar's real resolvers do with what MongoDB returns.
 *
 * The data: order "o<i>" (i < N) {id, version 1, customer "c<i % 100>",
 * total i + 0.5, status OPEN, placedAt, lines: 2 × {id "l<i>-<k>", version, sku, qty}}. */
#include "byron/json.h"
#include "byron/log.h"
#include "component_schema.h"
#include "gqlapi_endpoint.h"
#include "server.h"
#include "workpool.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int norders = 1000;

static json_object *line(int i, int k) {
    char sku[32], id[32];
    snprintf(sku, sizeof sku, "sku-%d-%d", i % 50, k);
    snprintf(id, sizeof id, "l%d-%d", i, k);
    json_object *l = json_object_new_object();
    json_object_object_add(l, "id", json_object_new_string(id));
    json_object_object_add(l, "version", json_object_new_int(1));
    json_object_object_add(l, "sku", json_object_new_string(sku));
    json_object_object_add(l, "qty", json_object_new_int(k + 1));
    return l;
}

static json_object *order(int i) {
    char id[24], customer[24];
    snprintf(id, sizeof id, "o%d", i);
    snprintf(customer, sizeof customer, "c%d", i % 100);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "version", json_object_new_int(1));
    json_object_object_add(o, "customer", json_object_new_string(customer));
    json_object_object_add(o, "total", json_object_new_double(i + 0.5));
    json_object_object_add(o, "status", json_object_new_string("OPEN"));
    json_object_object_add(o, "placedAt", json_object_new_string("2026-12-01T00:00:00Z"));
    json_object *lines = json_object_new_array();
    json_object_array_add(lines, line(i, 0));
    json_object_array_add(lines, line(i, 1));
    json_object_object_add(o, "lines", lines);
    return o;
}

static int order_index(const char *id) {
    if (!id || id[0] != 'o') return -1;
    char *end;
    long i = strtol(id + 1, &end, 10);
    return *end || i < 0 || i >= norders ? -1 : (int)i;
}

/* orders(first, filter: {customer: {eq}}): the first `first` orders (of the customer). */
static json_object *connection(json_object *args) {
    json_object *v = NULL, *f = NULL, *c = NULL, *eq = NULL;
    int first = 20;
    if (json_object_object_get_ex(args, "first", &v) && json_object_is_type(v, json_type_int))
        first = json_object_get_int(v);
    const char *customer = NULL;
    if (json_object_object_get_ex(args, "filter", &f) && json_object_object_get_ex(f, "customer", &c) &&
        json_object_object_get_ex(c, "eq", &eq))
        customer = json_object_get_string(eq);
    json_object *edges = json_object_new_array();
    int n = 0, more = 0;
    for (int i = 0; i < norders; i++) {
        if (customer) {
            char want[24];
            snprintf(want, sizeof want, "c%d", i % 100);
            if (strcmp(want, customer) != 0) continue;
        }
        if (n == first) {
            more = 1;
            break;
        }
        json_object *e = json_object_new_object();
        char cursor[32];
        snprintf(cursor, sizeof cursor, "o%d", i);
        json_object_object_add(e, "cursor", json_object_new_string(cursor));
        json_object_object_add(e, "node", order(i));
        json_object_array_add(edges, e);
        n++;
    }
    json_object *conn = json_object_new_object(), *pi = json_object_new_object();
    json_object_object_add(conn, "edges", edges);
    json_object_object_add(pi, "hasNextPage", json_object_new_boolean(more));
    json_object_object_add(pi, "hasPreviousPage", json_object_new_boolean(0));
    json_object *last = n ? json_object_array_get_idx(edges, (size_t)n - 1) : NULL, *lc = NULL;
    if (last && json_object_object_get_ex(last, "cursor", &lc))
        json_object_object_add(pi, "endCursor", json_object_get(lc));
    json_object_object_add(conn, "pageInfo", pi);
    return conn;
}

static byron_status_t resolve(void *ctx, json_object *parent, const char *field, json_object *args,
                              const byron_graphql_resolve_info_t *info, json_object **result,
                              byron_graphql_field_error_t *err) {
    const byron_component_schema_op_t *op = info->meta;
    if (!op) return byron_graphql_default_resolve(ctx, parent, field, args, info, result, err);
    json_object *id = NULL;
    json_object_object_get_ex(args, "id", &id);
    if (op->verb == BYRON_SCHEMA_GET) {
        int i = order_index(id ? json_object_get_string(id) : NULL);
        *result = i < 0 ? NULL : order(i);
        return BYRON_OK;
    }
    if (op->verb == BYRON_SCHEMA_LIST) {
        *result = connection(args);
        return BYRON_OK;
    }
    if (op->verb == BYRON_SCHEMA_UPDATE) {
        if (order_index(id ? json_object_get_string(id) : NULL) < 0)
            return byron_graphql_field_error_set(err, BYRON_ENOTFOUND, "NOT_FOUND", "no such order");
        json_object *r = json_object_new_object();
        json_object_object_add(r, "id", json_object_get(id));
        json_object_object_add(r, "version", json_object_new_int(2));
        json_object_object_add(r, "sequence", json_object_new_string("2"));
        json_object_object_add(r, "events", json_object_new_array());
        *result = r;
        return BYRON_OK;
    }
    if (op->verb == BYRON_SCHEMA_REF) /* lines: embedded in the order already */
        return byron_graphql_default_resolve(ctx, parent, field, args, info, result, err);
    return byron_graphql_field_error_set(err, BYRON_EINVAL, "INTERNAL_SERVER_ERROR",
                                         "%s: not served by the bench", field);
}

typedef struct {
    byron_graphql_schema_t *schema;
    byron_gqlapi_options_t opts;
    byron_graphql_doc_cache_t *doc_cache; /* as the sidecar's (gqlapi_endpoint.c) */
} engine_t;

static void http_graphql(void *ud, const byron_server_request_t *req, byron_server_reply_t *rep) {
    engine_t *e = ud;
    byron_graphql_http_options_t o = {.max_body_bytes = e->opts.max_body_bytes,
                                      .resolve = resolve,
                                      .limits = &e->opts.limits,
                                      .doc_cache = e->doc_cache};
    byron_graphql_http_response_t r;
    byron_graphql_http_handle(e->schema, &o, req->method, req->content_type[0] ? req->content_type : NULL,
                              req->accept[0] ? req->accept : NULL, req->query, req->body ? req->body : "",
                              req->body ? req->len : 0, &r);
    rep->status = r.status;
    snprintf(rep->content_type, sizeof rep->content_type, "%s", r.content_type);
    rep->body = r.body;
    rep->len = r.body_len;
    r.body = NULL;
    byron_graphql_http_response_cleanup(&r);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv) {
    const char *config = NULL;
    int port = 0, workers = 8;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--config") == 0)
            config = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--workers") == 0)
            workers = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--orders") == 0)
            norders = atoi(argv[i + 1]);
    }
    if (!config || norders < 1) {
        fprintf(
            stderr,
            "usage: bench_graphql_engine --config component.json [--port P] [--workers W] [--orders N]\n");
        return 2;
    }
    byron_log_setup("bench-graphql", BYRON_LOG_WARN, 2);
    byron_err_t err = {0};
    engine_t e = {0};
    byron_gqlapi_options_init(&e.opts);
    json_object *root = NULL;
    byron_component_t *comp = NULL;
    byron_sidecar_t sc = {.mode = "api"};
    byron_server_t *srv = NULL;
    int rc = 1;
    if (byron_json_parse_file(config, 1 << 20, &root, &err) != BYRON_OK ||
        byron_component_parse(root, &comp, &err) != BYRON_OK ||
        byron_component_schema(comp, &e.schema, &err) != BYRON_OK)
        goto out;
    e.doc_cache = byron_graphql_doc_cache_new(BYRON_GQLAPI_DOC_CACHE_ENTRIES, e.opts.document_cache_bytes);
    sc.component = comp;
    if (!(sc.pool = byron_workpool_new(workers, 1024, NULL, &err)) ||
        byron_workpool_start(sc.pool, &err) != BYRON_OK)
        goto out;
    byron_server_mount_t mount = {"/graphql", http_graphql, &e};
    byron_server_options_t so = {
        .bind_addr = "127.0.0.1", .port = port, .mounts = &mount, .nmounts = 1, .admin_port = -1};
    if (!(srv = byron_server_new(&sc, &so, &err))) goto out;
    printf("listening on %d\n", byron_server_port(srv));
    fflush(stdout);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop) pause();
    rc = 0;
out:
    if (rc) fprintf(stderr, "bench_graphql_engine: %s\n", err.msg);
    byron_server_free(srv);
    if (sc.pool) {
        byron_workpool_stop(sc.pool);
        byron_workpool_free(sc.pool);
    }
    byron_graphql_doc_cache_free(e.doc_cache);
    byron_graphql_schema_free(e.schema);
    byron_component_free(comp);
    json_object_put(root);
    return rc;
}
