/* test_fold.c — the fold checker's rules (fold.h), without I/O: which events
 * are valid, what applying them yields, what the app's answers change, and
 * how the fold and a cache are compared. The app's handlers are this file's
 * scripted answers (the integration test uses the real reference app). */
#include "byron/json.h"
#include "envelope.h"
#include "fold.h"
#include "subject.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static byron_component_t *comp;

/* ---- a fold with scripted app answers and collected findings ----------- */

typedef struct script {
    const char *path;   /* "/v1/events/OrderShipped" */
    const char *answer; /* JSON; NULL: 404; "!": the app fails */
} script_t;

typedef struct fixture {
    byron_fold_t *f;
    json_object *findings; /* array */
    json_object *bodies;   /* {"<path>": [bodies]} */
    const script_t *script;
    uint64_t seq;
} fixture_t;

static void collect(void *ud, json_object *o) {
    fixture_t *x = ud;
    json_object_array_add(x->findings, json_object_get(o));
}

static byron_status_t scripted_app(void *ud, const char *path, json_object *body, json_object **answer,
                                   byron_err_t *err) {
    fixture_t *x = ud;
    json_object *list = NULL;
    if (!json_object_object_get_ex(x->bodies, path, &list)) {
        list = json_object_new_array();
        json_object_object_add(x->bodies, path, list);
    }
    json_object_array_add(list, json_object_get(body));
    *answer = NULL;
    for (const script_t *s = x->script; s && s->path; s++) {
        if (strcmp(s->path, path) != 0) continue;
        if (!s->answer) return BYRON_OK;
        if (strcmp(s->answer, "!") == 0) return byron_err_set(err, BYRON_EIO, "status 500");
        cr_assert_eq(byron_json_parse(s->answer, strlen(s->answer), 0, answer, err), BYRON_OK);
        return BYRON_OK;
    }
    return BYRON_OK; /* not scripted: 404 */
}

static json_object *js(const char *text) {
    json_object *o = NULL;
    byron_err_t err;
    cr_assert_eq(byron_json_parse(text, strlen(text), 0, &o, &err), BYRON_OK, "%s: %s", text, err.msg);
    return o;
}

static void setup(fixture_t *x, int with_app, const script_t *script) {
    if (!comp) { /* the test component, with two more custom events */
        byron_err_t err = {0};
        json_object *root = NULL, *cmds;
        cr_assert_eq(byron_json_parse_file(SRC_DIR "/sidecar/tests/data/orders.json", 1 << 20, &root, &err),
                     BYRON_OK);
        cr_assert(json_object_object_get_ex(root, "commands", &cmds));
        json_object_array_add(cmds,
                              js("{\"name\":\"holdOrder\",\"model\":\"Order\",\"emits\":[\"OrderHeld\"]}"));
        json_object_array_add(
            cmds, js("{\"name\":\"archiveOrder\",\"model\":\"Order\",\"emits\":[\"OrderArchived\"]}"));
        cr_assert_eq(byron_component_parse(root, &comp, &err), BYRON_OK, "%s", err.msg);
        json_object_put(root);
    }
    memset(x, 0, sizeof *x);
    x->findings = json_object_new_array();
    x->bodies = json_object_new_object();
    x->script = script;
    byron_fold_options_t o = {.component = comp,
                              .app = with_app ? scripted_app : NULL,
                              .app_ud = x,
                              .report = collect,
                              .report_ud = x};
    cr_assert_not_null(x->f = byron_fold_new(&o));
}

static void teardown(fixture_t *x) {
    byron_fold_free(x->f);
    json_object_put(x->findings);
    json_object_put(x->bodies);
}

/* An own event as the api sidecar writes it; subject/header overridable. */
typedef struct ev_opts {
    const char *subject;        /* NULL: the derived one */
    const char *version_header; /* NULL: byronversion; "-": absent */
    const char *raw;            /* the payload as is */
} ev_opts_t;

static byron_status_t own_ex(fixture_t *x, const char *type, const char *model, const char *id,
                             int64_t version, const char *data, const ev_opts_t *eo, uint64_t *seq_out) {
    json_object *d = js(data);
    byron_event_spec_t spec = {
        .source = comp->source, .type = type, .subject = id, .model = model, .version = version, .data = d};
    json_object *ev = byron_event_build(&spec);
    json_object_put(d);
    char subject[BYRON_SUBJECT_MAX], vh[32];
    byron_subject_format(subject, sizeof subject, comp, model, id);
    snprintf(vh, sizeof vh, "%" PRId64, version);
    const char *text = eo && eo->raw ? eo->raw : json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN);
    byron_fold_msg_t m = {.seq = ++x->seq,
                          .subject = eo && eo->subject ? eo->subject : subject,
                          .version_header =
                              eo && eo->version_header
                                  ? (strcmp(eo->version_header, "-") == 0 ? NULL : eo->version_header)
                                  : vh,
                          .data = text,
                          .len = strlen(text)};
    if (seq_out) *seq_out = m.seq;
    byron_err_t err = {0};
    byron_status_t st = byron_fold_own(x->f, &m, &err);
    json_object_put(ev);
    return st;
}

static void own(fixture_t *x, const char *type, const char *model, const char *id, int64_t version,
                const char *data) {
    cr_assert_eq(own_ex(x, type, model, id, version, data, NULL, NULL), BYRON_OK);
}

/* An event of the subscribed component (customers, namespace shop). */
static byron_status_t other(fixture_t *x, const char *type, const char *id, const char *data, uint64_t seq) {
    json_object *d = js(data);
    byron_event_spec_t spec = {.source = "/byron/shop/customers",
                               .type = type,
                               .subject = id,
                               .model = "Customer",
                               .version = 1,
                               .data = d};
    json_object *ev = byron_event_build(&spec);
    json_object_put(d);
    char subject[300];
    snprintf(subject, sizeof subject, "byron.shop.customers.%u.Customer.%s",
             byron_partition("Customer", id, 4), id);
    const char *text = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN);
    byron_fold_msg_t m = {
        .seq = seq, .subject = subject, .version_header = "1", .data = text, .len = strlen(text)};
    byron_err_t err = {0};
    byron_status_t st = byron_fold_subscribed(x->f, 0, &m, &err);
    json_object_put(ev);
    return st;
}

/* Feed a cache: {"Order": [docs...], "_byron_sink": [docs...]}. */
static byron_fold_stats_t compare(fixture_t *x, const char *cache) {
    json_object *c = js(cache), *state = NULL;
    if (json_object_object_get_ex(c, "_byron_sink", &state))
        for (size_t i = 0; i < json_object_array_length(state); i++)
            byron_fold_cache_state(x->f, json_object_array_get_idx(state, i));
    json_object_object_foreach(c, model, docs) {
        if (strcmp(model, "_byron_sink") == 0) continue;
        const byron_model_t *m = byron_component_model(comp, model);
        cr_assert_not_null(m);
        for (size_t i = 0; i < json_object_array_length(docs); i++)
            byron_fold_cache_doc(x->f, m, json_object_array_get_idx(docs, i));
    }
    json_object_put(c);
    byron_fold_stats_t st;
    byron_fold_finish(x->f, &st);
    return st;
}

/* The findings, compact, one per line, for exact assertions. */
static const char *findings(fixture_t *x) {
    static char buf[16384];
    buf[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(x->findings); i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, sizeof buf - l, "%s\n",
                 json_object_to_json_string_ext(json_object_array_get_idx(x->findings, i),
                                                JSON_C_TO_STRING_PLAIN));
    }
    return buf;
}

static void assert_findings(fixture_t *x, const char *want) { cr_assert_str_eq(findings(x), want); }

/* ---- generated events --------------------------------------------------- */

Test(fold, generated_events_fold_and_equal_cache_has_no_findings) {
    fixture_t x;
    setup(&x, 0, NULL);
    own(&x, "OrderCreated", "Order", "o-1", 1,
        "{\"id\":\"o-1\",\"customer\":\"ann\",\"status\":\"OPEN\",\"total\":10}");
    own(&x, "OrderUpdated", "Order", "o-1", 2, "{\"status\":\"SHIPPED\",\"notes\":{\"a\":[1,2]}}");
    own(&x, "OrderCreated", "Order", "o-2", 1, "{\"id\":\"o-2\",\"customer\":\"bob\"}");
    own(&x, "OrderDeleted", "Order", "o-2", 2, "{}");
    own(&x, "OrderCreated", "Order", "o-3", 1, "{\"id\":\"o-3\",\"customer\":\"cy\"}");
    own(&x, "OrderDeleted", "Order", "o-3", 2, "{}");
    own(&x, "OrderCreated", "Order", "o-3", 3, "{\"id\":\"o-3\",\"customer\":\"cy2\"}"); /* re-created */
    byron_fold_stats_t st =
        compare(&x, "{\"Order\":[{\"_id\":\"o-1\",\"customer\":\"ann\",\"status\":\"SHIPPED\",\"total\":10.0,"
                    "\"notes\":{\"a\":[1,2]},\"version\":2},"
                    "{\"_id\":\"o-3\",\"customer\":\"cy2\",\"version\":3}],"
                    "\"_byron_sink\":[{\"_id\":\"tomb:Order/o-2\",\"version\":2},{\"_id\":\"tomb:Order/"
                    "o-3\",\"version\":2},"
                    "{\"_id\":\"sub:BYRON_shop_customers\",\"seq\":9}]}");
    assert_findings(&x, "");
    cr_assert_eq(st.events, 7);
    cr_assert_eq(st.applied, 7);
    cr_assert_eq(st.aggregates, 3);
    cr_assert_eq(st.documents, 2);
    cr_assert_eq(st.differences, 0);
    teardown(&x);
}

Test(fold, cache_differences_are_each_reported) {
    fixture_t x;
    setup(&x, 0, NULL);
    own(&x, "OrderCreated", "Order", "o-1", 1, "{\"id\":\"o-1\",\"customer\":\"ann\",\"status\":\"OPEN\"}");
    own(&x, "OrderCreated", "Order", "o-2", 1, "{\"id\":\"o-2\",\"customer\":\"bob\"}");
    own(&x, "OrderCreated", "Order", "o-3", 1, "{\"id\":\"o-3\",\"customer\":\"cy\"}");
    own(&x, "OrderDeleted", "Order", "o-3", 2, "{}");
    own(&x, "OrderCreated", "Order", "o-4", 1, "{\"id\":\"o-4\",\"customer\":\"di\"}");
    own(&x, "OrderDeleted", "Order", "o-4", 2, "{}");
    byron_fold_stats_t st = compare(
        &x,
        "{\"Order\":[{\"_id\":\"o-1\",\"customer\":\"ann\",\"status\":\"SHIPPED\",\"count\":1,\"version\":3},"
        "{\"_id\":\"o-9\",\"customer\":\"eve\",\"version\":1}],"
        "\"_byron_sink\":[{\"_id\":\"tomb:Order/o-4\",\"version\":1},"
        "{\"_id\":\"tomb:Order/o-5\",\"version\":4}]}");
    assert_findings(
        &x,
        "{\"kind\":\"field\",\"model\":\"Order\",\"id\":\"o-1\",\"field\":\"status\",\"fold\":\"OPEN\","
        "\"cache\":"
        "\"SHIPPED\"}\n"
        "{\"kind\":\"field\",\"model\":\"Order\",\"id\":\"o-1\",\"field\":\"count\",\"cache\":1}\n"
        "{\"kind\":\"field\",\"model\":\"Order\",\"id\":\"o-1\",\"field\":\"version\",\"fold\":1,\"cache\":3}"
        "\n"
        "{\"kind\":\"extra-document\",\"model\":\"Order\",\"id\":\"o-9\",\"cache\":{\"customer\":\"eve\","
        "\"version\":1}}\n"
        "{\"kind\":\"missing-document\",\"model\":\"Order\",\"id\":\"o-2\",\"fold\":{\"customer\":\"bob\","
        "\"version\":1}}\n"
        "{\"kind\":\"missing-tombstone\",\"model\":\"Order\",\"id\":\"o-3\",\"fold\":2}\n"
        "{\"kind\":\"wrong-tombstone\",\"model\":\"Order\",\"id\":\"o-4\",\"fold\":2,\"cache\":1}\n"
        "{\"kind\":\"extra-tombstone\",\"model\":\"Order\",\"id\":\"o-5\",\"cache\":4}\n");
    cr_assert_eq(st.differences, 8);
    teardown(&x);
}

Test(fold, a_live_aggregate_may_keep_or_clear_its_old_tombstone) {
    fixture_t x;
    setup(&x, 0, NULL);
    own(&x, "OrderCreated", "Order", "o-1", 1, "{\"id\":\"o-1\",\"customer\":\"ann\"}");
    own(&x, "OrderDeleted", "Order", "o-1", 2, "{}");
    own(&x, "OrderCreated", "Order", "o-1", 3, "{\"id\":\"o-1\",\"customer\":\"ann\"}");
    own(&x, "OrderCreated", "Order", "o-2", 1, "{\"id\":\"o-2\",\"customer\":\"bob\"}");
    own(&x, "OrderDeleted", "Order", "o-2", 2, "{}");
    own(&x, "OrderCreated", "Order", "o-2", 3, "{\"id\":\"o-2\",\"customer\":\"bob\"}");
    compare(&x, "{\"Order\":[{\"_id\":\"o-1\",\"customer\":\"ann\",\"version\":3},"
                "{\"_id\":\"o-2\",\"customer\":\"bob\",\"version\":3}],"
                "\"_byron_sink\":[{\"_id\":\"tomb:Order/o-1\",\"version\":2}]}");
    assert_findings(&x, "");
    teardown(&x);
}

Test(fold, values_compare_as_the_cache_stores_them) {
    static const struct {
        const char *a, *b;
        int eq;
    } CASES[] = {
        {"10", "10.0", 1},
        {"10", "10.5", 0},
        {"\"10\"", "10", 0},
        {"null", "null", 1},
        {"null", "0", 0},
        {"{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", 1},
        {"{\"a\":1}", "{\"a\":1,\"b\":null}", 0},
        {"[1,2]", "[2,1]", 0},
        {"[1,{\"x\":true}]", "[1.0,{\"x\":true}]", 1},
        {"true", "false", 0},
        {"\"a\\u0000b\"", "\"a\"", 0},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        json_object *a = js(CASES[i].a), *b = js(CASES[i].b);
        cr_assert_eq(byron_fold_value_equal(a, b), CASES[i].eq, "%s vs %s", CASES[i].a, CASES[i].b);
        cr_assert_eq(byron_fold_value_equal(b, a), CASES[i].eq, "%s vs %s", CASES[i].b, CASES[i].a);
        json_object_put(a);
        json_object_put(b);
    }
}

/* ---- validity: what must be dead-lettered -------------------------------- */

Test(fold, invalid_events_are_expected_dead_letters_and_move_their_subject_past_them) {
    fixture_t x;
    setup(&x, 0, NULL);
    x.seq = 100; /* versions are never beyond their sequence */
    own(&x, "OrderCreated", "Order", "o-1", 1, "{\"id\":\"o-1\",\"customer\":\"ann\"}");
    /* 2: a version jump: not applied, but the aggregate moves to 3 (the api counts from there) */
    own(&x, "OrderUpdated", "Order", "o-1", 3, "{\"status\":\"SHIPPED\"}");
    /* 3: a copy of a version already there: skipped, as the sink skips a
     * redelivery or a replay (no dead letter, nothing applied) */
    own(&x, "OrderCreated", "Order", "o-1", 3, "{\"id\":\"o-1\",\"customer\":\"zed\"}");
    /* 4: o-1's envelope on o-2's subject: o-2 (no document) moves to 4 in its tombstone */
    char wrong[BYRON_SUBJECT_MAX];
    byron_subject_format(wrong, sizeof wrong, comp, "Order", "o-2");
    ev_opts_t o4 = {.subject = wrong};
    cr_assert_eq(own_ex(&x, "OrderUpdated", "Order", "o-1", 4, "{\"status\":\"CANCELLED\"}", &o4, NULL),
                 BYRON_OK);
    /* 5: the header claims 7: o-1 moves to 7; 6: no header: no move */
    ev_opts_t o5 = {.version_header = "7"}, o6 = {.version_header = "-"};
    cr_assert_eq(own_ex(&x, "OrderUpdated", "Order", "o-1", 4, "{\"count\":5}", &o5, NULL), BYRON_OK);
    cr_assert_eq(own_ex(&x, "OrderUpdated", "Order", "o-1", 8, "{\"count\":6}", &o6, NULL), BYRON_OK);
    /* 7: data that does not fit the model (o-1 moves to 8); 8: a created without a required
     * field; 9: without its id; 10: naming another id (each moves its aggregate to 1) */
    own(&x, "OrderUpdated", "Order", "o-1", 8, "{\"count\":\"many\"}");
    own(&x, "OrderCreated", "Order", "o-7", 1, "{\"id\":\"o-7\",\"status\":\"OPEN\"}");
    own(&x, "OrderCreated", "Order", "o-8", 1, "{\"customer\":\"x\"}");
    own(&x, "OrderCreated", "Order", "o-9", 1, "{\"id\":\"o-10\",\"customer\":\"x\"}");
    /* 11: not a model of the component (nothing of ours to move) */
    char subj[BYRON_SUBJECT_MAX];
    snprintf(subj, sizeof subj, "%s.%u.Invoice.i-1", comp->subject_prefix,
             byron_partition("Invoice", "i-1", 8));
    ev_opts_t o11 = {.subject = subj};
    cr_assert_eq(own_ex(&x, "InvoiceCreated", "Invoice", "i-1", 1, "{\"id\":\"i-1\"}", &o11, NULL), BYRON_OK);
    /* 12: not an envelope at all, on o-1's subject, header 9: o-1 moves to 9 */
    ev_opts_t o12 = {.raw = "{\"hello\":1}", .version_header = "9"};
    cr_assert_eq(own_ex(&x, "OrderUpdated", "Order", "o-1", 9, "{}", &o12, NULL), BYRON_OK);
    /* 13: a type no command emits; 14: a version jump on a new aggregate (o-5 moves to 999) */
    own(&x, "OrderLost", "Order", "o-1", 10, "{}");
    own(&x, "OrderCreated", "Order", "o-5", 999, "{\"id\":\"o-5\",\"customer\":\"x\"}");
    /* 15: o-1's next version after all that: applied */
    own(&x, "OrderUpdated", "Order", "o-1", 11, "{\"count\":2}");
    byron_fold_stats_t st = compare(
        &x, "{\"Order\":[{\"_id\":\"o-1\",\"customer\":\"ann\",\"count\":2,\"version\":11}],"
            "\"_byron_sink\":[{\"_id\":\"tomb:Order/o-2\",\"version\":4},"
            "{\"_id\":\"tomb:Order/o-7\",\"version\":1},{\"_id\":\"tomb:Order/o-8\",\"version\":1},"
            "{\"_id\":\"tomb:Order/o-9\",\"version\":1},{\"_id\":\"tomb:Order/o-5\",\"version\":999}]}");
    const char *out = findings(&x);
    cr_assert_eq(st.invalid, 12, "%s", out);
    cr_assert_eq(st.applied, 2);
    cr_assert_eq(st.differences, 12, "%s", out);
    static const char *const WANT[] = {
        "\"sequence\":102,", "byronversion 3 of Order o-1 is not the next version (2)",
        "\"sequence\":104,", "is not the aggregate's subject",
        "\"sequence\":105,", "header Byron-Version \\\"7\\\" differs from byronversion 4",
        "\"sequence\":106,", "header Byron-Version absent differs from byronversion 8",
        "\"sequence\":107,", "event.data.count: must be Int",
        "\"sequence\":108,", "event.data.customer: required",
        "\"sequence\":109,", "event.data.id: must be the event's subject o-8",
        "\"sequence\":110,", "event.data.id: must be the event's subject o-9",
        "\"sequence\":111,", "event.byronmodel: Invoice is not a model of orders",
        "\"sequence\":112,", "event.",
        "\"sequence\":113,", "event.type: no command of Order emits OrderLost",
        "\"sequence\":114,", "byronversion 999 of Order o-5 is not the next version (1)",
    };
    const char *line = out;
    for (size_t i = 0; i < sizeof WANT / sizeof WANT[0]; i += 2) {
        const char *end = strchr(line, '\n');
        cr_assert_not_null(end, "finding %zu missing in:\n%s", i / 2, out);
        char l[2048];
        snprintf(l, sizeof l, "%.*s", (int)(end - line), line);
        cr_assert(strstr(l, "\"kind\":\"expected-dead-letter\"") && strstr(l, WANT[i]) &&
                      strstr(l, WANT[i + 1]),
                  "finding %zu: %s (want %s %s)", i / 2, l, WANT[i], WANT[i + 1]);
        line = end + 1;
    }
    cr_assert_str_eq(line, "");
    teardown(&x);
}

Test(fold, dead_lettered_invalid_events_are_fine_and_gaps_follow_a_dead_valid_event) {
    fixture_t x;
    setup(&x, 1, NULL);
    /* seq 2 (valid, its handler failed for good) is dead-lettered: the
     * aggregate stays at 1, so 3 and 4 are gaps and must be dead letters too. */
    cr_assert_eq(byron_fold_dead_letter(x.f, comp->stream, 2), BYRON_OK);
    cr_assert_eq(byron_fold_dead_letter(x.f, comp->stream, 3), BYRON_OK);
    cr_assert_eq(byron_fold_dead_letter(x.f, comp->stream, 3), BYRON_OK);  /* stored twice: one */
    cr_assert_eq(byron_fold_dead_letter(x.f, "BYRON_other", 4), BYRON_OK); /* another stream's 4 */
    own(&x, "OrderCreated", "Order", "o-1", 1, "{\"id\":\"o-1\",\"customer\":\"ann\"}");
    own(&x, "OrderShipped", "Order", "o-1", 2, "{\"carrier\":\"ups\"}");
    own(&x, "OrderUpdated", "Order", "o-1", 3, "{\"count\":3}");
    own(&x, "OrderUpdated", "Order", "o-1", 4, "{\"count\":4}");
    byron_fold_stats_t st = compare(&x, "{\"Order\":[{\"_id\":\"o-1\",\"customer\":\"ann\",\"version\":1}]}");
    cr_assert_eq(st.dead_lettered, 1);
    cr_assert_eq(st.invalid, 2);
    assert_findings(
        &x, "{\"kind\":\"expected-dead-letter\",\"stream\":\"BYRON_shop_orders\",\"sequence\":4,"
            "\"subject\":\"byron.shop.orders.3.Order.o-1\",\"reason\":\"Order o-1 is stopped at version "
            "1 by a dead-lettered event\"}\n");
    teardown(&x);
}

Test(fold, without_an_app_a_dead_lettered_valid_event_is_a_difference) {
    fixture_t x;
    setup(&x, 0, NULL);
    cr_assert_eq(byron_fold_dead_letter(x.f, comp->stream, 1), BYRON_OK);
    own(&x, "OrderCreated", "Order", "o-1", 1, "{\"id\":\"o-1\",\"customer\":\"ann\"}");
    byron_fold_stats_t st = compare(&x, "{}");
    cr_assert_eq(st.differences, 1);
    cr_assert(strstr(findings(&x), "\"kind\":\"unexpected-dead-letter\""), "%s", findings(&x));
    teardown(&x);
}

Test(fold, other_subjects_are_not_events) {
    fixture_t x;
    setup(&x, 0, NULL);
    const char *payload = "{\"model\":\"Order\",\"field\":\"code\",\"value\":\"A\",\"owner\":\"o-1\"}";
    char subj[6][300];
    snprintf(subj[0], 300, "%s.unique.Order.code.00ff", comp->subject_prefix);
    snprintf(subj[1], 300, "%s.8.Order.o-1", comp->subject_prefix);  /* no such partition */
    snprintf(subj[2], 300, "%s.03.Order.o-1", comp->subject_prefix); /* not as formatted */
    snprintf(subj[3], 300, "%s.3.Order.o-1.x", comp->subject_prefix);
    snprintf(subj[4], 300, "%s.3.Order", comp->subject_prefix);
    snprintf(subj[5], 300, "byron.shop.other.3.Order.o-1");
    for (int i = 0; i < 6; i++) {
        byron_fold_msg_t m = {
            .seq = (uint64_t)i + 1, .subject = subj[i], .data = payload, .len = strlen(payload)};
        cr_assert_eq(byron_fold_own(x.f, &m, NULL), BYRON_OK);
    }
    byron_fold_stats_t st = compare(&x, "{}");
    cr_assert_eq(st.ignored, 6);
    cr_assert_eq(st.events, 0);
    assert_findings(&x, "");
    teardown(&x);
}

/* ---- the app's handlers ------------------------------------------------- */

Test(fold, custom_events_without_a_handler_move_only_the_version) {
    fixture_t x;
    setup(&x, 0, NULL);
    own(&x, "OrderCreated", "Order", "o-1", 1, "{\"id\":\"o-1\",\"customer\":\"ann\"}");
    own(&x, "OrderShipped", "Order", "o-1", 2, "{\"status\":\"SHIPPED\"}");
    compare(&x, "{\"Order\":[{\"_id\":\"o-1\",\"customer\":\"ann\",\"version\":2}]}");
    assert_findings(&x, "");
    teardown(&x);

    static const script_t EMPTY[] = {{"/v1/events/OrderShipped", "{}"}, {NULL, NULL}};
    setup(&x, 1, EMPTY); /* an app that answers {} (or 404: OrderCreated) */
    own(&x, "OrderCreated", "Order", "o-1", 1, "{\"id\":\"o-1\",\"customer\":\"ann\"}");
    own(&x, "OrderShipped", "Order", "o-1", 2, "{\"status\":\"SHIPPED\"}");
    compare(&x, "{\"Order\":[{\"_id\":\"o-1\",\"customer\":\"ann\",\"version\":2}]}");
    assert_findings(&x, "");
    teardown(&x);
}

Test(fold, a_version_move_without_a_document_rises_in_the_tombstone) {
    static const script_t S[] = {{"/v1/events/OrderHeld/before", "{\"skip\":{}}"}, {NULL, NULL}};
    fixture_t x;
    setup(&x, 1, S);
    own(&x, "OrderCreated", "Order", "o-1", 1, "{\"id\":\"o-1\",\"customer\":\"ann\"}");
    own(&x, "OrderDeleted", "Order", "o-1", 2, "{}");
    own(&x, "OrderShipped", "Order", "o-1", 3, "{}"); /* no handler: the version only */
    own(&x, "OrderHeld", "Order", "o-1", 4, "{}");    /* skipped: the version only */
    own(&x, "OrderUpdated", "Order", "o-1", 5, "{}"); /* nothing to set */
    compare(&x, "{\"_byron_sink\":[{\"_id\":\"tomb:Order/o-1\",\"version\":5}]}");
    assert_findings(&x, "");
    teardown(&x);
    setup(&x, 1, S); /* with something to write, the document comes back */
    own(&x, "OrderCreated", "Order", "o-1", 1, "{\"id\":\"o-1\",\"customer\":\"ann\"}");
    own(&x, "OrderDeleted", "Order", "o-1", 2, "{}");
    own(&x, "OrderUpdated", "Order", "o-1", 3, "{\"count\":3}");
    compare(&x, "{\"Order\":[{\"_id\":\"o-1\",\"count\":3,\"version\":3}],"
                "\"_byron_sink\":[{\"_id\":\"tomb:Order/o-1\",\"version\":2}]}");
    assert_findings(&x, "");
    teardown(&x);
}

Test(fold, handler_answers_apply_and_the_handler_sees_what_the_sink_sends) {
    static const script_t S[] = {
        {"/v1/events/OrderShipped",
         "{\"set\":{\"status\":\"SHIPPED\",\"count\":1},\"unset\":[\"notes\"],"
         "\"changes\":[{\"model\":\"OrderLine\",\"id\":\"l-1\",\"set\":{\"sku\":\"A\"}},"
         "{\"model\":\"Order\",\"id\":\"o-2\",\"delete\":true}]}"},
        {"/v1/events/OrderCreated", "{\"set\":{\"total\":1.5},\"unset\":[\"status\"]}"},
        {"/v1/events/OrderArchived", "{\"delete\":true}"},
        {"/v1/events/OrderHeld/before", "{\"skip\":{\"message\":\"not now\"}}"},
        {"/v1/events/OrderHeld", "{\"set\":{\"status\":\"CANCELLED\"}}"}, /* never called: skipped */
        {NULL, NULL}};
    fixture_t x;
    setup(&x, 1, S);
    own(&x, "OrderCreated", "Order", "o-1", 1,
        "{\"id\":\"o-1\",\"customer\":\"ann\",\"status\":\"OPEN\",\"notes\":{}}");
    own(&x, "OrderCreated", "Order", "o-2", 1, "{\"id\":\"o-2\",\"customer\":\"bob\"}");
    own(&x, "OrderShipped", "Order", "o-1", 2, "{\"carrier\":\"ups\"}");
    own(&x, "OrderHeld", "Order", "o-1", 3, "{}");
    own(&x, "OrderCreated", "Order", "o-3", 1, "{\"id\":\"o-3\",\"customer\":\"cy\"}");
    own(&x, "OrderArchived", "Order", "o-3", 2, "{}");
    /* o-2 was removed by a change: its tombstone keeps the version it had */
    byron_fold_stats_t st =
        compare(&x, "{\"Order\":[{\"_id\":\"o-1\",\"customer\":\"ann\",\"total\":1.5,\"status\":\"SHIPPED\","
                    "\"count\":1,\"version\":3}],"
                    "\"OrderLine\":[{\"_id\":\"l-1\",\"sku\":\"A\",\"version\":0}],"
                    "\"_byron_sink\":[{\"_id\":\"tomb:Order/o-3\",\"version\":2},"
                    "{\"_id\":\"tomb:Order/o-2\",\"version\":1}]}");
    assert_findings(&x, "");
    cr_assert_eq(st.applied, 6);
    /* What the handler was given for OrderShipped: the state before it, as the sink sends it. */
    json_object *calls = json_object_object_get(x.bodies, "/v1/events/OrderShipped");
    cr_assert_eq(json_object_array_length(calls), 1);
    json_object *b = json_object_array_get_idx(calls, 0);
    cr_assert_str_eq(
        json_object_to_json_string_ext(json_object_object_get(b, "current"), JSON_C_TO_STRING_PLAIN),
        "{\"customer\":\"ann\",\"notes\":{},\"total\":1.5,\"id\":\"o-1\",\"version\":1}");
    json_object *ev = json_object_object_get(b, "event");
    cr_assert_eq(json_object_get_int64(json_object_object_get(ev, "byronsequence")), 3);
    cr_assert_eq(json_object_get_int64(json_object_object_get(ev, "byronversion")), 2);
    cr_assert_eq(json_object_get_boolean(json_object_object_get(b, "subscribed")), 0);
    cr_assert_eq(json_object_get_int(json_object_object_get(b, "attempt")), 1);
    /* Before hooks are called with the same body; after hooks never (side effects). */
    cr_assert_not_null(json_object_object_get(x.bodies, "/v1/events/OrderShipped/before"));
    cr_assert_null(json_object_object_get(x.bodies, "/v1/events/OrderHeld"));
    json_object_object_foreach(x.bodies, path, v) {
        (void)v;
        cr_assert_null(strstr(path, "/after"), "%s called", path);
    }
    teardown(&x);
}

Test(fold, a_failing_or_invalid_handler_stops_the_fold) {
    static const script_t FAIL[] = {{"/v1/events/OrderShipped", "!"}, {NULL, NULL}};
    static const script_t BAD[] = {{"/v1/events/OrderShipped", "{\"set\":{\"count\":\"x\"}}"}, {NULL, NULL}};
    static const script_t BEFORE[] = {
        {"/v1/events/OrderShipped/before",
         "{\"changes\":[{\"model\":\"Order\",\"id\":\"o-1\",\"delete\":true}]}"},
        {NULL, NULL}};
    const script_t *scripts[] = {FAIL, BAD, BEFORE};
    const char *want[] = {"status 500", "answer.set.count: must be Int", "answers {} or {\"skip\""};
    for (int i = 0; i < 3; i++) {
        fixture_t x;
        setup(&x, 1, scripts[i]);
        own(&x, "OrderCreated", "Order", "o-1", 1, "{\"id\":\"o-1\",\"customer\":\"ann\"}");
        json_object *d = js("{}");
        byron_event_spec_t spec = {.source = comp->source,
                                   .type = "OrderShipped",
                                   .subject = "o-1",
                                   .model = "Order",
                                   .version = 2,
                                   .data = d};
        json_object *ev = byron_event_build(&spec);
        json_object_put(d);
        char subject[BYRON_SUBJECT_MAX];
        byron_subject_format(subject, sizeof subject, comp, "Order", "o-1");
        const char *text = json_object_to_json_string(ev);
        byron_fold_msg_t m = {
            .seq = 2, .subject = subject, .version_header = "2", .data = text, .len = strlen(text)};
        byron_err_t err = {0};
        cr_assert_neq(byron_fold_own(x.f, &m, &err), BYRON_OK, "script %d", i);
        cr_assert(strstr(err.msg, want[i]) && strstr(err.msg, "BYRON_shop_orders 2"), "script %d: %s", i,
                  err.msg);
        json_object_put(ev);
        teardown(&x);
    }
}

/* ---- subscriptions and lanes ------------------------------------------- */

Test(fold, subscribed_events_apply_only_changes_of_listed_types) {
    static const script_t S[] = {
        {"/v1/events/CustomerCreated",
         "{\"changes\":[{\"model\":\"Order\",\"id\":\"c-1\",\"set\":{\"customer\":\"C1\"}}]}"},
        {"/v1/events/CustomerRenamed",
         "{\"changes\":[{\"model\":\"Order\",\"id\":\"c-1\",\"set\":{\"customer\":\"no\"}}]}"},
        {NULL, NULL}};
    fixture_t x;
    setup(&x, 1, S);
    cr_assert_eq(other(&x, "CustomerCreated", "c-1", "{\"name\":\"C1\"}", 1), BYRON_OK);
    cr_assert_eq(other(&x, "CustomerRenamed", "c-1", "{\"name\":\"no\"}", 2), BYRON_OK); /* not listed */
    cr_assert_eq(byron_fold_dead_letter(x.f, "BYRON_shop_customers", 3), BYRON_OK);
    cr_assert_eq(other(&x, "CustomerCreated", "c-2", "{\"name\":\"C2\"}", 3), BYRON_OK); /* dead-lettered */
    byron_fold_msg_t junk = {
        .seq = 4, .subject = "byron.shop.customers.1.Customer.c-3", .data = "nope", .len = 4};
    cr_assert_eq(byron_fold_subscribed(x.f, 0, &junk, NULL), BYRON_OK); /* not an envelope: must be dead */
    byron_fold_stats_t st = compare(&x, "{\"Order\":[{\"_id\":\"c-1\",\"customer\":\"C1\",\"version\":0}]}");
    cr_assert_eq(st.subscribed, 1);
    cr_assert_eq(st.filtered, 1);
    cr_assert_eq(st.dead_lettered, 1);
    assert_findings(&x,
                    "{\"kind\":\"expected-dead-letter\",\"stream\":\"BYRON_shop_customers\",\"sequence\":4,"
                    "\"subject\":\"byron.shop.customers.1.Customer.c-3\",\"reason\":\"event: invalid JSON at "
                    "byte 1: null expected\"}\n");
    json_object *b =
        json_object_array_get_idx(json_object_object_get(x.bodies, "/v1/events/CustomerCreated"), 0);
    cr_assert_null(json_object_object_get(b, "current"));
    cr_assert(json_object_get_boolean(json_object_object_get(b, "subscribed")));
    teardown(&x);
}

Test(fold, a_document_written_from_two_lanes_differs_only_as_order_dependent) {
    static const script_t S[] = {
        {"/v1/events/CustomerCreated",
         "{\"changes\":[{\"model\":\"Order\",\"id\":\"o-1\",\"set\":{\"status\":\"CANCELLED\"}}]}"},
        {NULL, NULL}};
    fixture_t x;
    setup(&x, 1, S);
    own(&x, "OrderCreated", "Order", "o-1", 1, "{\"id\":\"o-1\",\"customer\":\"ann\",\"status\":\"OPEN\"}");
    cr_assert_eq(other(&x, "CustomerCreated", "c-1", "{}", 1), BYRON_OK);
    own(&x, "OrderCreated", "Order", "o-2", 1, "{\"id\":\"o-2\",\"customer\":\"bob\",\"status\":\"OPEN\"}");
    /* The sink applied the subscription lane before the partition lane: o-1 says OPEN. */
    byron_fold_stats_t st =
        compare(&x, "{\"Order\":[{\"_id\":\"o-1\",\"customer\":\"ann\",\"status\":\"OPEN\",\"version\":1},"
                    "{\"_id\":\"o-2\",\"customer\":\"bob\",\"status\":\"SHIPPED\",\"version\":1}]}");
    char lane[32];
    snprintf(lane, sizeof lane, "p%u", byron_partition("Order", "o-1", 8));
    char want[2048];
    snprintf(
        want, sizeof want,
        "{\"kind\":\"order-dependent\",\"model\":\"Order\",\"id\":\"o-1\",\"lanes\":[\"%s\",\"sub:BYRON_shop_"
        "customers\"],\"difference\":{\"kind\":\"field\",\"model\":\"Order\",\"id\":\"o-1\",\"field\":"
        "\"status\","
        "\"fold\":\"CANCELLED\",\"cache\":\"OPEN\"}}\n"
        "{\"kind\":\"field\",\"model\":\"Order\",\"id\":\"o-2\",\"field\":\"status\",\"fold\":\"OPEN\","
        "\"cache\":"
        "\"SHIPPED\"}\n",
        lane);
    assert_findings(&x, want);
    cr_assert_eq(st.order_dependent, 1);
    cr_assert_eq(st.differences, 1); /* only o-2 fails the check */
    teardown(&x);
}
