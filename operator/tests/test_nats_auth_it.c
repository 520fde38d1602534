/* test_nats_auth_it.c — NATS identities against a real nats-server.
 *
 * Each test starts its own nats-server (the testenv's binary) in operator
 * mode with a trust chain from byron_natsidentity_generate, exactly the
 * auth.conf the operator gives the chart's NATS. Users are minted as the
 * operator mints them (natsperm.c permissions), streams are created by the
 * operator's broker module. A refused operation is proven twice: the server's
 * "Permissions Violation" reaches the client, and counting shows nothing
 * changed. */
#include "broker.h"
#include "byron/jetstream.h"
#include "byron/json.h"
#include "child.h"
#include "harness.h"
#include "natsidentity.h"
#include "natsperm.h"
#include "testenv.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --- a private nats-server in operator mode -------------------------------------------- */
static struct {
    pid_t pid;
    char dir[256], url[64], log[300];
    int port, mon;
    byron_natsidentity_t id;
} srv;

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static int healthy(void) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz?js-enabled-only=true", srv.mon);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    long code = 0;
    int ok = curl_easy_perform(c) == CURLE_OK &&
             curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200;
    curl_easy_cleanup(c);
    return ok;
}

static void server_start(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(srv.dir, sizeof srv.dir, "/tmp/byron-natsauth-XXXXXX");
    cr_assert_not_null(mkdtemp(srv.dir));
    byron_err_t err = {0};
    json_object *data = byron_natsidentity_generate(&srv.id, (int64_t)time(NULL), &err);
    cr_assert_not_null(data, "%s", err.msg);
    char path[400], conf[1024];
    snprintf(path, sizeof path, "%s/auth.conf", srv.dir);
    write_text(path, json_object_get_string(json_object_object_get(data, BYRON_NATSID_AUTH_CONF)));
    json_object_put(data);
    srv.port = h_free_port();
    srv.mon = h_free_port();
    snprintf(conf, sizeof conf,
             "server_name: auth-test\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\n"
             "jetstream { store_dir: \"%s/js\" }\ninclude ./auth.conf\n",
             srv.port, srv.mon, srv.dir);
    snprintf(path, sizeof path, "%s/server.conf", srv.dir);
    write_text(path, conf);
    snprintf(srv.url, sizeof srv.url, "nats://127.0.0.1:%d", srv.port);
    snprintf(srv.log, sizeof srv.log, "%s/nats.log", srv.dir);
    char *argv[] = {(char *)h_env("BYRON_NATS_SERVER"), "-c", path, NULL};
    srv.pid = h_spawn(argv, srv.log, NULL);
    long long deadline = byron_test_now_ms() + 20000;
    while (!healthy()) {
        cr_assert_lt(byron_test_now_ms(), deadline, "nats-server not ready; see %s", srv.log);
        byron_test_sleep_ms(50);
    }
}

static void server_stop(void) {
    if (srv.pid > 0) {
        kill(srv.pid, SIGTERM);
        cr_assert_eq(h_wait_exit(srv.pid, 10000), 0, "nats-server did not exit cleanly; see %s", srv.log);
    }
    srv.pid = 0;
    byron_nkey_wipe(&srv.id.signing);
    curl_global_cleanup();
}

TestSuite(nats_auth, .init = server_start, .fini = server_stop, .timeout = 120);

/* --- clients ---------------------------------------------------------------------------- */
typedef struct client {
    natsConnection *nc;
    jsCtx *js;
    pthread_mutex_t mu;
    char violations[4096]; /* every async error text, newline separated */
    char creds[300];
} client_t;

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure) {
    client_t *c = closure;
    const char *text = NULL;
    natsConnection_GetLastError(nc, &text);
    pthread_mutex_lock(&c->mu);
    size_t used = strlen(c->violations);
    snprintf(c->violations + used, sizeof c->violations - used, "%s\n", text ? text : natsStatus_GetText(s));
    pthread_mutex_unlock(&c->mu);
}

/* Connect as a user with these permissions (NULL: no credentials at all). */
static natsStatus client_connect(client_t *c, json_object *perm, const char *inbox) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    natsOptions *o = NULL;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, srv.url);
    natsOptions_SetErrorHandler(o, on_error, c);
    natsOptions_SetMaxReconnect(o, 0);
    if (perm) {
        byron_err_t err = {0};
        int64_t now = (int64_t)time(NULL);
        char *creds = byron_natsidentity_mint(&srv.id, "test-user", perm, now, now + 600, &err);
        cr_assert_not_null(creds, "%s", err.msg);
        snprintf(c->creds, sizeof c->creds, "%s/user-%p.creds", srv.dir, (void *)c);
        write_text(c->creds, creds);
        free(creds);
        natsOptions_SetUserCredentialsFromFiles(o, c->creds, NULL);
    }
    if (inbox) natsOptions_SetCustomInboxPrefix(o, inbox);
    /* Three tries: cnats 3.4 loses the nonce when the server's INFO comes in
     * two reads (~1% of connects; see broker.c) — a refusal must hold every
     * time, a lost nonce does not repeat. */
    natsStatus s = NATS_ERR;
    for (int attempt = 0; attempt < 3; attempt++) {
        s = natsConnection_Connect(&c->nc, o);
        if (s != NATS_CONNECTION_AUTH_FAILED) break;
        natsConnection_Destroy(c->nc);
        c->nc = NULL;
    }
    natsOptions_Destroy(o);
    if (s == NATS_OK) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 2000;
        cr_assert_eq(natsConnection_JetStream(&c->js, c->nc, &jo), NATS_OK);
    }
    return s;
}

static void client_close(client_t *c) {
    jsCtx_Destroy(c->js);
    if (c->nc) {
        natsConnection_Close(c->nc);
        natsConnection_Destroy(c->nc);
    }
    pthread_mutex_destroy(&c->mu);
    memset(c, 0, sizeof *c);
}

/* Wait for the server's "Permissions Violation" naming subject. */
static void expect_violation(client_t *c, const char *what, const char *subject) {
    long long deadline = byron_test_now_ms() + 10000;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int seen = strstr(c->violations, "Permissions Violation") && strstr(c->violations, subject);
        pthread_mutex_unlock(&c->mu);
        if (seen) return;
        cr_assert_lt(byron_test_now_ms(), deadline, "%s: no permissions violation for %s (errors seen: %s)",
                     what, subject, c->violations);
        byron_test_sleep_ms(20);
    }
}

/* A request the user is not allowed to make: it must not be answered. */
static void refused_request(client_t *c, const char *subject, const char *body) {
    natsMsg *reply = NULL;
    natsStatus s = natsConnection_RequestString(&reply, c->nc, subject, body ? body : "", 1000);
    cr_assert_neq(s, NATS_OK, "%s was answered: %.*s", subject, reply ? natsMsg_GetDataLength(reply) : 0,
                  reply ? natsMsg_GetData(reply) : "");
    natsMsg_Destroy(reply);
    expect_violation(c, subject, subject);
}

/* A user of the account allowed everything: the test's own eyes, and proof
 * that what the streams refuse, they refuse to anyone. */
static void connect_unrestricted(client_t *c) {
    json_object *all = NULL;
    const char *text = "{\"pub\":{\"allow\":[\">\"]},\"sub\":{\"allow\":[\">\"]}}";
    byron_json_parse(text, strlen(text), 0, &all, NULL);
    cr_assert_eq(client_connect(c, all, NULL), NATS_OK);
    json_object_put(all);
}

static json_object *stream_info(const char *stream) {
    client_t admin;
    connect_unrestricted(&admin);
    char subj[300];
    snprintf(subj, sizeof subj, "$JS.API.STREAM.INFO.%s", stream);
    natsMsg *reply = NULL;
    cr_assert_eq(natsConnection_RequestString(&reply, admin.nc, subj, "", 5000), NATS_OK);
    json_object *o = NULL;
    byron_json_parse(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), 0, &o, NULL);
    natsMsg_Destroy(reply);
    client_close(&admin);
    return o;
}

static int64_t stream_msgs(const char *stream) {
    json_object *o = stream_info(stream), *st, *m;
    int64_t n = json_object_object_get_ex(o, "state", &st) && json_object_object_get_ex(st, "messages", &m)
                    ? json_object_get_int64(m)
                    : -1;
    json_object_put(o);
    return n;
}

static void make_streams(const char *ns, const char *c) {
    byron_broker_options_t bo = {.identity = &srv.id};
    byron_err_t err = {0};
    byron_broker_t *b = byron_broker_new(&bo, &err);
    byron_broker_streams_t s = {
        .url = srv.url, .namespace_ = ns, .component = c, .replicas = 1, .max_bytes = -1};
    cr_assert_eq(byron_broker_ensure_streams(b, &s, &err), BYRON_OK, "%s", err.msg);
    byron_broker_free(b);
}

/* Connect as component ns/c's api, or its sink subscribed to subs. */
static void connect_as(client_t *cl, const char *ns, const char *c, const char *role,
                       const byron_natsperm_ref_t *subs, size_t nsubs) {
    char inbox[200];
    byron_natsperm_inbox(ns, c, role, inbox, sizeof inbox);
    json_object *perm =
        !strcmp(role, "api") ? byron_natsperm_api(ns, c) : byron_natsperm_sink(ns, c, subs, nsubs);
    cr_assert_eq(client_connect(cl, perm, inbox), NATS_OK, "%s/%s %s refused at connect", ns, c, role);
    json_object_put(perm);
}

static uint64_t js_pub(client_t *c, const char *subject, natsStatus *out) {
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 1000;
    natsStatus s = js_Publish(&ack, c->js, subject, "{}", 2, &po, &jerr);
    uint64_t seq = ack ? ack->Sequence : 0;
    jsPubAck_Destroy(ack);
    if (out) *out = s;
    return seq;
}

/* --- tests ------------------------------------------------------------------------------ */

Test(nats_auth, a_client_without_credentials_or_with_foreign_ones_is_refused) {
    client_t c;
    cr_assert_eq(client_connect(&c, NULL, NULL), NATS_CONNECTION_AUTH_FAILED,
                 "an anonymous client was let in");
    client_close(&c);
    /* a user signed by a key the server does not trust: forged credentials */
    byron_natsidentity_t other;
    byron_err_t err = {0};
    json_object *data = byron_natsidentity_generate(&other, (int64_t)time(NULL), &err);
    json_object_put(data);
    byron_natsidentity_t saved = srv.id;
    srv.id = other;
    json_object *perm = byron_natsperm_api("shop", "orders");
    natsStatus s = client_connect(&c, perm, NULL);
    srv.id = saved;
    json_object_put(perm);
    cr_assert_eq(s, NATS_CONNECTION_AUTH_FAILED, "a user of an untrusted account was let in");
    client_close(&c);
}

Test(nats_auth, api_credentials_reach_only_their_own_component) {
    make_streams("shop", "orders");
    make_streams("shop", "customers");
    client_t api;
    connect_as(&api, "shop", "orders", "api", NULL, 0);
    natsStatus s;
    cr_assert_gt(js_pub(&api, "byron.shop.orders.0.Order.o1", &s), 0, "its own event: %s",
                 natsStatus_GetText(s));
    /* another component's subjects */
    js_pub(&api, "byron.shop.customers.0.Customer.c1", &s);
    cr_assert_neq(s, NATS_OK);
    expect_violation(&api, "publishing another component's event", "byron.shop.customers.0.Customer.c1");
    cr_assert_eq(stream_msgs("BYRON_shop_customers"), 0, "another component's stream was written");
    /* stream administration, its own stream included */
    refused_request(&api, "$JS.API.STREAM.PURGE.BYRON_shop_orders", NULL);
    refused_request(&api, "$JS.API.STREAM.DELETE.BYRON_shop_orders", NULL);
    refused_request(&api, "$JS.API.STREAM.MSG.DELETE.BYRON_shop_orders", "{\"seq\":1}");
    refused_request(&api, "$JS.API.STREAM.UPDATE.BYRON_shop_orders", "{\"name\":\"BYRON_shop_orders\"}");
    refused_request(&api, "$JS.API.STREAM.CREATE.MINE", "{\"name\":\"MINE\",\"subjects\":[\"mine.>\"]}");
    cr_assert_eq(stream_msgs("BYRON_shop_orders"), 1, "its stream lost or gained events");
    /* reading another component's stream */
    refused_request(&api, "$JS.API.STREAM.MSG.GET.BYRON_shop_customers", "{\"seq\":1}");
    refused_request(&api, "$JS.API.CONSUMER.CREATE.BYRON_shop_customers", "{}");
    /* others' replies */
    natsSubscription *sub = NULL;
    natsConnection_SubscribeSync(&sub, api.nc, "_INBOX.>");
    natsConnection_Flush(api.nc);
    expect_violation(&api, "subscribing to every inbox", "_INBOX.>");
    natsSubscription_Destroy(sub);
    /* what it needs works: the last event of an aggregate, by direct get */
    natsMsg *m = NULL;
    jsDirectGetMsgOptions dg;
    jsDirectGetMsgOptions_Init(&dg);
    dg.LastBySubject = "byron.shop.orders.0.Order.o1";
    cr_assert_eq(js_DirectGetMsg(&m, api.js, "BYRON_shop_orders", NULL, &dg), NATS_OK, "direct get refused");
    natsMsg_Destroy(m);
    client_close(&api);
}

Test(nats_auth, sink_credentials_consume_and_dead_letter_but_never_write_events) {
    make_streams("shop", "orders");
    make_streams("shop", "customers");
    make_streams("shop", "billing");
    /* an event in customers, written by customers' own api */
    client_t capi;
    connect_as(&capi, "shop", "customers", "api", NULL, 0);
    cr_assert_gt(js_pub(&capi, "byron.shop.customers.0.Customer.c1", NULL), 0);
    client_close(&capi);

    byron_natsperm_ref_t subs[] = {{"shop", "customers"}};
    client_t sink;
    connect_as(&sink, "shop", "orders", "sink", subs, 1);
    natsStatus s;
    js_pub(&sink, "byron.shop.orders.0.Order.o1", &s);
    cr_assert_neq(s, NATS_OK);
    expect_violation(&sink, "a sink publishing an event", "byron.shop.orders.0.Order.o1");
    cr_assert_eq(stream_msgs("BYRON_shop_orders"), 0, "the sink wrote an event");
    /* its durable on the subscribed stream: created, fetched, acked */
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = cc.Name = "byron-sub-shop-orders";
    cc.AckPolicy = js_AckExplicit;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    cr_assert_eq(js_AddConsumer(&ci, sink.js, "BYRON_shop_customers", &cc, NULL, &jerr), NATS_OK,
                 "its subscription consumer: %d %s", jerr, sink.violations);
    jsConsumerInfo_Destroy(ci);
    natsSubscription *ps = NULL;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = "BYRON_shop_customers";
    so.Consumer = "byron-sub-shop-orders";
    cr_assert_eq(
        js_PullSubscribe(&ps, sink.js, "byron.shop.customers.>", "byron-sub-shop-orders", NULL, &so, &jerr),
        NATS_OK, "%s", sink.violations);
    natsMsgList list = {0};
    cr_assert_eq(natsSubscription_Fetch(&list, ps, 1, 5000, &jerr), NATS_OK, "fetch: %s", sink.violations);
    cr_assert_eq(list.Count, 1);
    cr_assert_eq(natsMsg_Ack(list.Msgs[0], NULL), NATS_OK);
    natsMsgList_Destroy(&list);
    natsSubscription_Destroy(ps);
    /* any other consumer on it, or a stream it does not subscribe to: no */
    refused_request(
        &sink, "$JS.API.CONSUMER.CREATE.BYRON_shop_customers.someone-else",
        "{\"stream_name\":\"BYRON_shop_customers\",\"config\":{\"durable_name\":\"someone-else\"}}");
    refused_request(&sink, "$JS.API.CONSUMER.CREATE.BYRON_shop_billing", "{}");
    refused_request(&sink, "$JS.API.STREAM.PURGE.BYRON_shop_customers", NULL);
    /* dead letters: yes, into its own DLQ stream */
    cr_assert_gt(js_pub(&sink, "byrondlq.shop.orders.own", &s), 0, "dead letter: %s", natsStatus_GetText(s));
    cr_assert_eq(stream_msgs("BYRON_shop_orders_DLQ"), 1);
    client_close(&sink);
}

Test(nats_auth, streams_refuse_delete_and_purge_even_to_an_unrestricted_user) {
    make_streams("shop", "orders");
    json_object *info = stream_info("BYRON_shop_orders"), *cfg = json_object_object_get(info, "config");
    cr_assert(json_object_get_boolean(json_object_object_get(cfg, "deny_delete")), "no DenyDelete");
    cr_assert(json_object_get_boolean(json_object_object_get(cfg, "deny_purge")), "no DenyPurge");
    json_object_put(info);
    /* a user allowed everything (the server is the last line) */
    client_t root;
    connect_unrestricted(&root);
    cr_assert_gt(js_pub(&root, "byron.shop.orders.0.Order.o1", NULL), 0);
    natsMsg *reply = NULL;
    cr_assert_eq(
        natsConnection_RequestString(&reply, root.nc, "$JS.API.STREAM.PURGE.BYRON_shop_orders", "", 5000),
        NATS_OK);
    cr_assert(strstr(natsMsg_GetData(reply), "\"error\""), "purge answered: %s", natsMsg_GetData(reply));
    natsMsg_Destroy(reply);
    cr_assert_eq(natsConnection_RequestString(&reply, root.nc, "$JS.API.STREAM.MSG.DELETE.BYRON_shop_orders",
                                              "{\"seq\":1}", 5000),
                 NATS_OK);
    cr_assert(strstr(natsMsg_GetData(reply), "\"error\""), "message delete answered: %s",
              natsMsg_GetData(reply));
    natsMsg_Destroy(reply);
    cr_assert_eq(stream_msgs("BYRON_shop_orders"), 1);
    client_close(&root);
}

Test(nats_auth, the_operator_creates_updates_and_never_takes_over_a_foreign_stream) {
    byron_broker_options_t bo = {.identity = &srv.id};
    byron_err_t err = {0};
    byron_broker_t *b = byron_broker_new(&bo, &err);
    byron_broker_streams_t s = {
        .url = srv.url, .namespace_ = "shop", .component = "orders", .replicas = 1, .max_bytes = -1};
    cr_assert_eq(byron_broker_ensure_streams(b, &s, &err), BYRON_OK, "%s", err.msg);
    s.max_bytes = 64 << 20;
    cr_assert_eq(byron_broker_ensure_streams(b, &s, &err), BYRON_OK, "%s", err.msg);
    json_object *info = stream_info("BYRON_shop_orders"), *cfg = json_object_object_get(info, "config");
    cr_assert_eq(json_object_get_int64(json_object_object_get(cfg, "max_bytes")), 64 << 20, "not updated");
    cr_assert_str_eq(json_object_get_string(json_object_object_get(cfg, "discard")), "new");
    json_object_put(info);
    /* a stream with a component's name but other subjects: someone else's */
    client_t root;
    connect_unrestricted(&root);
    natsMsg *reply = NULL;
    cr_assert_eq(natsConnection_RequestString(&reply, root.nc, "$JS.API.STREAM.CREATE.BYRON_shop_theirs",
                                              "{\"name\":\"BYRON_shop_theirs\",\"subjects\":[\"theirs.>\"]}",
                                              5000),
                 NATS_OK);
    natsMsg_Destroy(reply);
    client_close(&root);
    s.component = "theirs";
    cr_assert_eq(byron_broker_ensure_streams(b, &s, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "BYRON_shop_theirs") && strstr(err.msg, "someone else"), "%s", err.msg);
    info = stream_info("BYRON_shop_theirs");
    cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(
                         json_object_object_get(json_object_object_get(info, "config"), "subjects"), 0)),
                     "theirs.>", "the foreign stream was changed");
    json_object_put(info);
    byron_broker_free(b);
}

/* The sidecars themselves, each with only its own role's credentials: a
 * command is accepted, published and projected. */
static pid_t sidecar(const char *mode, const char *config, const char *creds, const char *inbox, int port,
                     int admin, const char *dir, char *log, size_t logcap) {
    char bin[600], p[16], a[16], sock[400];
    snprintf(a, sizeof a, "%d", admin);
    snprintf(bin, sizeof bin, "%s/sidecar/byron-sidecar", getenv("BYRON_BINARY_DIR"));
    snprintf(p, sizeof p, "%d", port);
    snprintf(sock, sizeof sock, "%s/%s.sock", dir, mode);
    snprintf(log, logcap, "%s/%s.log", dir, mode);
    char m[32], e1[460], e2[300];
    snprintf(m, sizeof m, "--mode=%s", mode);
    snprintf(e1, sizeof e1, "BYRON_NATS_CREDS=%s", creds);
    snprintf(e2, sizeof e2, "BYRON_NATS_INBOX_PREFIX=%s", inbox);
    char *argv[24], *env[] = {e1, e2, NULL};
    int n = h_sidecar_argv(argv, bin, m, config, srv.url, (char *)h_env("BYRON_MONGO_URI"), p, a, sock, NULL);
    argv[n] = NULL;
    return h_spawn(argv, log, env);
}

Test(nats_auth, sidecars_with_their_own_credentials_run_a_command_end_to_end) {
    char comp[64];
    snprintf(comp, sizeof comp, "orders-%d", (int)getpid());
    make_streams("it", comp);
    make_streams("it", "customers");
    char cfgsrc[600], config[400];
    snprintf(cfgsrc, sizeof cfgsrc, "%s/sidecar/tests/data/orders.json", getenv("BYRON_SOURCE_DIR"));
    json_object *root = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_json_parse_file(cfgsrc, 1 << 20, &root, &err), BYRON_OK, "%s", err.msg);
    json_object_object_add(root, "component", json_object_new_string(comp));
    json_object_object_add(root, "namespace", json_object_new_string("it"));
    snprintf(config, sizeof config, "%s/component.json", srv.dir);
    cr_assert_eq(json_object_to_file(config, root), 0);
    json_object_put(root);
    const char *roles[] = {"api", "sink"};
    pid_t pids[2];
    int ports[2], admins[2]; /* public (GraphQL, REST) and admin (probes) */
    char logs[2][400];
    byron_natsperm_ref_t subs[] = {{"it", "customers"}};
    for (int i = 0; i < 2; i++) {
        json_object *perm =
            i == 0 ? byron_natsperm_api("it", comp) : byron_natsperm_sink("it", comp, subs, 1);
        int64_t now = (int64_t)time(NULL);
        char *creds = byron_natsidentity_mint(&srv.id, roles[i], perm, now, now + 600, &err);
        json_object_put(perm);
        char path[400], inbox[200];
        snprintf(path, sizeof path, "%s/%s.creds", srv.dir, roles[i]);
        write_text(path, creds);
        free(creds);
        byron_natsperm_inbox("it", comp, roles[i], inbox, sizeof inbox);
        ports[i] = h_free_port();
        admins[i] = h_free_port();
        pids[i] =
            sidecar(roles[i], config, path, inbox, ports[i], admins[i], srv.dir, logs[i], sizeof logs[i]);
    }
    for (int i = 0; i < 2; i++) {
        long long deadline = byron_test_now_ms() + 30000;
        while (!h_ready(admins[i])) {
            cr_assert_lt(byron_test_now_ms(), deadline, "%s sidecar not ready; see %s", roles[i], logs[i]);
            byron_test_sleep_ms(100);
        }
    }
    h_sidecar_t api = {.port = ports[0]};
    h_resp_t r;
    cr_assert_eq(h_command(&api, "createOrder", "{\"id\":\"o-1\",\"input\":{\"customer\":\"ann\"}}", &r), 0);
    cr_assert_eq(r.status, 200, "createOrder: %ld %s (see %s)", r.status, r.body, logs[0]);
    h_resp_free(&r);
    long long deadline = byron_test_now_ms() + 30000;
    for (;;) {
        cr_assert_eq(h_http(NULL, ports[0], "POST", "/graphql",
                            "{\"query\":\"{ order(id: \\\"o-1\\\") { id } }\"}", 2000, &r),
                     0);
        int projected = r.status == 200 && r.body && strstr(r.body, "\"id\":\"o-1\"");
        h_resp_free(&r);
        if (projected) break;
        cr_assert_lt(byron_test_now_ms(), deadline, "the sink did not project the event; see %s", logs[1]);
        byron_test_sleep_ms(100);
    }
    /* Something the sink cannot project (not an event), on the component's own
     * subjects: its dead letter lands in the dead-letter stream the operator
     * made, written with the sink's own credentials. */
    byron_jetstream_names_t names;
    cr_assert_eq(byron_jetstream_names("it", comp, &names), 0);
    cr_assert_eq(stream_msgs(names.dlq_stream), 0);
    client_t forger;
    connect_as(&forger, "it", comp, "api", NULL, 0);
    char subj[300];
    snprintf(subj, sizeof subj, "%s.0.Order.x-1", names.prefix);
    natsStatus ps;
    cr_assert_gt(js_pub(&forger, subj, &ps), 0, "publish: %s", natsStatus_GetText(ps));
    client_close(&forger);
    deadline = byron_test_now_ms() + 30000;
    while (stream_msgs(names.dlq_stream) < 1) {
        cr_assert_lt(byron_test_now_ms(), deadline, "no dead letter in %s; see %s", names.dlq_stream,
                     logs[1]);
        byron_test_sleep_ms(100);
    }
    for (int i = 0; i < 2; i++) {
        kill(pids[i], SIGTERM);
        cr_assert_eq(h_wait_exit(pids[i], 15000), 0, "%s sidecar exit status; see %s", roles[i], logs[i]);
    }
    /* and no sidecar tripped over a permission on the way */
    FILE *f = fopen(srv.log, "r");
    char line[2048];
    while (f && fgets(line, sizeof line, f))
        cr_assert_null(strstr(line, "Permissions Violation"), "%s", line);
    if (f) fclose(f);
}

/* Credentials the server refuses, minted by `signer` for the api role of
 * shop/orders, valid until `expires`; the sidecar's exit status (waited up to
 * 90 s) and its log. cnats closes a connection for good when a server
 * refuses the same credentials twice: the sidecar must then exit non-zero so
 * its pod restarts (with renewed credentials), not sit unready forever. */
static int refused_sidecar(const byron_natsidentity_t *signer, int64_t expires, int wait_ready, char *log,
                           size_t logcap) {
    char config[400], creds_path[400], inbox[256];
    snprintf(config, sizeof config, "%s/sidecar/tests/data/orders.json", getenv("BYRON_SOURCE_DIR"));
    make_streams("shop", "orders");
    byron_err_t err = {0};
    json_object *perm = byron_natsperm_api("shop", "orders");
    char *creds = byron_natsidentity_mint(signer, "refused", perm, (int64_t)time(NULL), expires, &err);
    json_object_put(perm);
    cr_assert_not_null(creds, "%s", err.msg);
    snprintf(creds_path, sizeof creds_path, "%s/refused.creds", srv.dir);
    write_text(creds_path, creds);
    free(creds);
    byron_natsperm_inbox("shop", "orders", "api", inbox, sizeof inbox);
    int admin = h_free_port();
    pid_t pid = sidecar("api", config, creds_path, inbox, h_free_port(), admin, srv.dir, log, logcap);
    long long deadline = byron_test_now_ms() + 30000;
    while (wait_ready && !h_ready(admin)) {
        cr_assert_lt(byron_test_now_ms(), deadline, "the sidecar never became ready; see %s", log);
        byron_test_sleep_ms(100);
    }
    return h_wait_exit(pid, 90000);
}

Test(nats_auth, a_sidecar_with_forged_credentials_exits_saying_nats_refused_it) {
    byron_natsidentity_t other; /* an account the server does not trust */
    byron_err_t err = {0};
    json_object *data = byron_natsidentity_generate(&other, (int64_t)time(NULL), &err);
    cr_assert_not_null(data, "%s", err.msg);
    json_object_put(data);
    char log[600];
    int rc = refused_sidecar(&other, (int64_t)time(NULL) + 600, 0, log, sizeof log);
    byron_nkey_wipe(&other.signing);
    cr_assert_eq(rc, 1, "exit status %d, not 1; see %s", rc, log);
    cr_assert(h_file_contains(log, "NATS"), "the log does not name NATS as the cause; see %s", log);
    cr_assert(h_file_contains(srv.log, "authentication error"), "the server did not refuse it: no fault");
}

Test(nats_auth, a_sidecar_whose_credentials_expire_exits_so_its_pod_restarts) {
    char log[600];
    /* ready first, on credentials that expire 20 s later: the server drops it, refuses the reconnects */
    int rc = refused_sidecar(&srv.id, (int64_t)time(NULL) + 20, 1, log, sizeof log);
    cr_assert_eq(rc, 1, "exit status %d, not 1; see %s", rc, log);
    cr_assert(h_file_contains(log, "NATS closed the connection for good"), "the log does not say why; see %s",
              log);
}
