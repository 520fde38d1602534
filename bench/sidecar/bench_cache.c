/* bench_cache.c — cache reads through the api sidecar against the same query
 * sent straight to the database with libmongoc (docs/benchmarks.md, "Cache
 * reads"); also seeds the cache and shows the database's plans.
 *
 *   bench_cache --db DB --seed N [--customers K]        add N orders "s<i>" to DB.Order
 *   bench_cache --db DB --explain                       the plans of both queries (JSON)
 *   bench_cache --db DB --target mongoc|http --query byid|list [--url URL]
 *               [--n N] [--customers K] [--concurrency C] [--seconds S] [--rate R]
 *
 * BYRON_MONGO_URI (or BYRON_TESTENV, the testenv env file) names the server.
 * The seeded orders have the shape the sink writes (bench/cache.py checks
 * that against one the sink projected): {_id, customer, total, status,
 * version}; customer "c<i % K>".
 * Queries, for a random order / customer:
 *   byid   http:   POST /graphql  order(id) { id version customer total status }
 *          mongoc: find {_id: id}, limit 1
 *   list   http:   orders(first: 20, filter: {customer: {eq: c}}, orderBy: [{field: ID}])
 *                  { edges { node { id customer total } } pageInfo { hasNextPage endCursor } }
 *          mongoc: find {customer: c}, sort {_id: 1}, limit 21
 * The mongoc side also turns every document into JSON (the sidecar must), one
 * client per thread from a pool, as the sidecar has. */
#include "../bench_load.h"

#include <curl/curl.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <unistd.h>

#define MAX_THREADS 512

typedef struct {
    const char *target, *query, *url, *db;
    int n, customers;
    mongoc_client_pool_t *pool;
    bench_load_t s;
} bench_t;

typedef struct {
    bench_t *b;
    int t;
} arg_t;

static unsigned next_rand(unsigned *seed) { return *seed = *seed * 1103515245u + 12345u; }

static void *http_worker(void *arg) {
    arg_t *a = arg;
    bench_t *b = a->b;
    bench_http_t c;
    bench_http_init(&c);
    char url[512], body[1024];
    snprintf(url, sizeof url, "%s/graphql", b->url);
    unsigned seed = (unsigned)a->t * 7919u + 1;
    int byid = strcmp(b->query, "byid") == 0;
    for (long i = 0;; i++) {
        double t0 = bench_due(&b->s, i, a->t);
        if (t0 >= b->s.until) break;
        unsigned r = next_rand(&seed) >> 4;
        if (byid)
            snprintf(body, sizeof body,
                     "{\"query\":\"query($id: ID!) { order(id: $id) { id version customer total status } }\","
                     "\"variables\":{\"id\":\"s%u\"}}",
                     r % (unsigned)b->n);
        else
            snprintf(body, sizeof body,
                     "{\"query\":\"query($c: String!) { orders(first: 20, filter: {customer: {eq: $c}}, "
                     "orderBy: [{field: ID}]) { edges { node { id customer total } } pageInfo { hasNextPage "
                     "endCursor } } }\",\"variables\":{\"c\":\"c%u\"}}",
                     r % (unsigned)b->customers);
        bench_http_outcome(&b->s, t0, bench_http_post(&c, url, body));
    }
    bench_http_cleanup(&c);
    return NULL;
}

static void *mongoc_worker(void *arg) {
    arg_t *a = arg;
    bench_t *b = a->b;
    mongoc_client_t *cl = mongoc_client_pool_pop(b->pool);
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, b->db, "Order");
    unsigned seed = (unsigned)a->t * 7919u + 1;
    int byid = strcmp(b->query, "byid") == 0;
    for (long i = 0;; i++) {
        double t0 = bench_due(&b->s, i, a->t);
        if (t0 >= b->s.until) break;
        unsigned r = next_rand(&seed) >> 4;
        char key[32];
        bson_t *filter, *opts;
        if (byid) {
            snprintf(key, sizeof key, "s%u", r % (unsigned)b->n);
            filter = BCON_NEW("_id", BCON_UTF8(key));
            opts = BCON_NEW("limit", BCON_INT64(1));
        } else {
            snprintf(key, sizeof key, "c%u", r % (unsigned)b->customers);
            filter = BCON_NEW("customer", BCON_UTF8(key));
            opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(21));
        }
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
        const bson_t *doc;
        int got = 0;
        while (mongoc_cursor_next(cur, &doc)) {
            char *json = bson_as_relaxed_extended_json(doc, NULL);
            bson_free(json);
            got++;
        }
        bson_error_t be;
        if (!mongoc_cursor_error(cur, &be) && got)
            bench_ok(&b->s, t0);
        else
            bench_fail(&b->s, 0);
        mongoc_cursor_destroy(cur);
        bson_destroy(filter);
        bson_destroy(opts);
    }
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(b->pool, cl);
    return NULL;
}

static int seed(bench_t *b, mongoc_client_t *cl) {
    mongoc_collection_t *coll = mongoc_client_get_collection(cl, b->db, "Order");
    static const char *const STATUS[] = {"OPEN", "SHIPPED", "CANCELLED"};
    enum { BATCH = 1000 };
    bson_t *docs[BATCH];
    int rc = 0;
    for (int i = 0; i < b->n && !rc; i += BATCH) {
        int k = 0;
        for (; k < BATCH && i + k < b->n; k++) {
            char id[32], customer[32];
            snprintf(id, sizeof id, "s%d", i + k);
            snprintf(customer, sizeof customer, "c%d", (i + k) % b->customers);
            docs[k] = BCON_NEW("_id", BCON_UTF8(id), "customer", BCON_UTF8(customer), "total",
                               BCON_DOUBLE((i + k) % 1000 + 0.5), "status", BCON_UTF8(STATUS[(i + k) % 3]),
                               "version", BCON_INT64(1));
        }
        bson_error_t be;
        if (!mongoc_collection_insert_many(coll, (const bson_t **)docs, (size_t)k, NULL, NULL, &be)) {
            fprintf(stderr, "seed: %s\n", be.message);
            rc = 1;
        }
        for (int j = 0; j < k; j++) bson_destroy(docs[j]);
    }
    mongoc_collection_destroy(coll);
    return rc;
}

/* explain of a find: what the database will do (FerretDB answers with its backend's plan). */
static void explain(bench_t *b, mongoc_client_t *cl, const char *name, bson_t *find) {
    bson_t *cmd = BCON_NEW("explain", BCON_DOCUMENT(find), "verbosity", BCON_UTF8("queryPlanner"));
    bson_t reply;
    bson_error_t be;
    char *json = NULL;
    if (mongoc_client_command_simple(cl, b->db, cmd, NULL, &reply, &be)) {
        json = bson_as_relaxed_extended_json(&reply, NULL);
        bson_destroy(&reply);
    }
    printf("{\"query\":\"%s\",\"explain\":%s}\n", name, json ? json : "null");
    if (!json) fprintf(stderr, "explain %s: %s\n", name, be.message);
    bson_free(json);
    bson_destroy(cmd);
}

static int usage(void) {
    fprintf(stderr, "usage: bench_cache --db DB (--seed N [--customers K] | --explain | --target mongoc|http "
                    "--query byid|list [--url URL] [--n N] [--customers K] [--concurrency C] [--seconds S] "
                    "[--rate R])\n");
    return 2;
}

int main(int argc, char **argv) {
    bench_t b = {.target = "", .query = "byid", .n = 10000, .customers = 100};
    int conc = 8, secs = 5, rate = 0, nseed = 0, do_explain = 0;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--explain") == 0) {
            do_explain = 1;
            continue;
        }
        if (!v) return usage();
        i++;
        if (strcmp(k, "--db") == 0)
            b.db = v;
        else if (strcmp(k, "--seed") == 0)
            nseed = atoi(v);
        else if (strcmp(k, "--customers") == 0)
            b.customers = atoi(v);
        else if (strcmp(k, "--n") == 0)
            b.n = atoi(v);
        else if (strcmp(k, "--target") == 0)
            b.target = v;
        else if (strcmp(k, "--query") == 0)
            b.query = v;
        else if (strcmp(k, "--url") == 0)
            b.url = v;
        else if (strcmp(k, "--concurrency") == 0)
            conc = atoi(v);
        else if (strcmp(k, "--seconds") == 0)
            secs = atoi(v);
        else if (strcmp(k, "--rate") == 0)
            rate = atoi(v);
        else
            return usage();
    }
    char uri_s[1024];
    if (!b.db || b.customers < 1 || b.n < 1 || conc < 1 || conc > MAX_THREADS || secs < 1) return usage();
    if (!bench_setting("BYRON_MONGO_URI", uri_s, sizeof uri_s)) {
        fprintf(stderr, "need BYRON_MONGO_URI (or BYRON_TESTENV)\n");
        return 2;
    }
    mongoc_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    bson_error_t be;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_s, &be);
    if (!uri) {
        fprintf(stderr, "%s: %s\n", uri_s, be.message);
        return 2;
    }
    b.pool = mongoc_client_pool_new(uri);
    mongoc_client_pool_max_size(b.pool, (uint32_t)(conc < 100 ? 100 : conc));
    int rc = 0;
    if (nseed || do_explain) {
        mongoc_client_t *cl = mongoc_client_pool_pop(b.pool);
        if (nseed) {
            b.n = nseed;
            rc = seed(&b, cl);
        }
        if (do_explain) {
            explain(&b, cl, "byid",
                    BCON_NEW("find", BCON_UTF8("Order"), "filter", "{", "_id", BCON_UTF8("s7"), "}", "limit",
                             BCON_INT64(1)));
            explain(&b, cl, "list",
                    BCON_NEW("find", BCON_UTF8("Order"), "filter", "{", "customer", BCON_UTF8("c7"), "}",
                             "sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(21)));
        }
        mongoc_client_pool_push(b.pool, cl);
    } else {
        int http = strcmp(b.target, "http") == 0;
        if ((!http && strcmp(b.target, "mongoc") != 0) || (http && !b.url) ||
            (strcmp(b.query, "byid") && strcmp(b.query, "list")))
            return usage();
        pthread_t th[MAX_THREADS];
        arg_t args[MAX_THREADS];
        if (bench_load_init(&b.s, conc, rate, secs) != 0) return 1;
        for (int i = 0; i < conc; i++) {
            args[i] = (arg_t){&b, i};
            pthread_create(&th[i], NULL, http ? http_worker : mongoc_worker, &args[i]);
        }
        for (int i = 0; i < conc; i++) pthread_join(th[i], NULL);
        char labels[128];
        snprintf(labels, sizeof labels, "\"target\":\"%s\",\"query\":\"%s\",\"documents\":%d", b.target,
                 b.query, b.n);
        bench_report(&b.s, labels);
    }
    mongoc_client_pool_destroy(b.pool);
    mongoc_uri_destroy(uri);
    curl_global_cleanup();
    mongoc_cleanup();
    return rc;
}
