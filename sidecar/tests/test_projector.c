/* test_projector.c — the sink's version guard and the validation of an app
 * handler's answer (projector.h): every bad answer gets a clear message. */
#include "byron/json.h"
#include "projector.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

Test(guard, next_version_applies_older_skips_any_gap_refused) {
    /* {stored, version, expected} */
    static const struct {
        int64_t stored, version;
        byron_projector_guard_t want;
    } CASES[] = {
        {0, 1, BYRON_PROJECTOR_APPLY}, /* create of a new aggregate */
        {1, 2, BYRON_PROJECTOR_APPLY}, /* the next update */
        {6, 7, BYRON_PROJECTOR_APPLY}, /* a create after a delete (the tombstone's version) */
        {2, 2, BYRON_PROJECTOR_SKIP},  /* redelivered */
        {5, 2, BYRON_PROJECTOR_SKIP},  /* replayed over a warm cache */
        {1, 3, BYRON_PROJECTOR_GAP},   /* version 2 missing: never out of order */
        {0, 4, BYRON_PROJECTOR_GAP},   /* no full-state exception: a jump is never applied */
        {3, 7, BYRON_PROJECTOR_GAP},   {3, INT64_MAX, BYRON_PROJECTOR_GAP},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        cr_assert_eq(byron_projector_guard(CASES[i].stored, CASES[i].version), CASES[i].want,
                     "case %zu: stored %lld version %lld → %s", i, (long long)CASES[i].stored,
                     (long long)CASES[i].version,
                     byron_projector_guard_name(byron_projector_guard(CASES[i].stored, CASES[i].version)));
}

Test(guard, event_kinds) {
    cr_assert_eq(byron_projector_event_kind("OrderCreated", "Order"), BYRON_EVENT_CREATED);
    cr_assert_eq(byron_projector_event_kind("OrderUpdated", "Order"), BYRON_EVENT_UPDATED);
    cr_assert_eq(byron_projector_event_kind("OrderDeleted", "Order"), BYRON_EVENT_DELETED);
    cr_assert_eq(byron_projector_event_kind("OrderShipped", "Order"), BYRON_EVENT_CUSTOM);
    cr_assert_eq(byron_projector_event_kind("OrderLineCreated", "Order"), BYRON_EVENT_CUSTOM);
    cr_assert_eq(byron_projector_event_kind("Created", "Order"), BYRON_EVENT_CUSTOM);
}

static byron_component_t *load(void) {
    byron_component_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_component_load(SRC_DIR "/sidecar/tests/data/orders.json", &c, &err), BYRON_OK, "%s",
                 err.msg);
    return c;
}

static byron_status_t parse(byron_component_t *c, const char *text, int own, byron_projector_answer_t *a,
                            byron_err_t *err) {
    json_object *o = NULL;
    cr_assert_eq(byron_json_parse(text, strlen(text), 32, &o, err), BYRON_OK, "%s: %s", text, err->msg);
    byron_status_t st = byron_projector_answer_parse(c, o, own ? byron_component_model(c, "Order") : NULL,
                                                     own ? "o-1" : NULL, a, err);
    json_object_put(o);
    return st;
}

Test(answer, good_answers) {
    byron_component_t *c = load();
    byron_projector_answer_t a;
    byron_err_t err = {0};
    cr_assert_eq(parse(c, "{}", 1, &a, &err), BYRON_OK, "%s", err.msg);
    cr_assert(!a.has_own && !a.nchanges && !a.skip);
    byron_projector_answer_cleanup(&a);

    cr_assert_eq(
        parse(c, "{\"set\":{\"status\":\"SHIPPED\",\"count\":2},\"unset\":[\"notes\"]}", 1, &a, &err),
        BYRON_OK, "%s", err.msg);
    cr_assert(a.has_own);
    cr_assert_str_eq(a.own.id, "o-1");
    cr_assert_str_eq(a.own.model->name, "Order");
    cr_assert_eq(json_object_object_length(a.own.set), 2);
    cr_assert_eq(json_object_array_length(a.own.unset), 1);
    byron_projector_answer_cleanup(&a);

    cr_assert_eq(parse(c, "{\"delete\":true}", 1, &a, &err), BYRON_OK, "%s", err.msg);
    cr_assert(a.own.del);
    byron_projector_answer_cleanup(&a);

    cr_assert_eq(parse(c, "{\"skip\":{\"message\":\"not mine\"}}", 0, &a, &err), BYRON_OK, "%s", err.msg);
    cr_assert(a.skip);
    cr_assert_str_eq(a.skip_message, "not mine");
    byron_projector_answer_cleanup(&a);

    cr_assert_eq(
        parse(c,
              "{\"changes\":[{\"model\":\"OrderLine\",\"id\":\"l-1\",\"set\":{\"sku\":\"x\",\"qty\":1}},"
              "{\"model\":\"Order\",\"id\":\"o-9\",\"delete\":true}]}",
              0, &a, &err),
        BYRON_OK, "%s", err.msg);
    cr_assert_eq(a.nchanges, 2);
    cr_assert_str_eq(a.changes[0].model->name, "OrderLine");
    cr_assert_str_eq(a.changes[1].id, "o-9");
    cr_assert(a.changes[1].del);
    byron_projector_answer_cleanup(&a);
    byron_component_free(c);
}

Test(answer, bad_answers_name_the_fault) {
    byron_component_t *c = load();
    static const struct {
        const char *text;
        int own;
        const char *msg;
    } BAD[] = {
        {"[]", 1, "answer: must be a JSON object"},
        {"{\"sett\":{}}", 1, "answer.sett: unknown field"},
        {"{\"set\":{\"nope\":1}}", 1, "answer.set.nope: unknown field"},
        {"{\"set\":{\"count\":\"x\"}}", 1, "answer.set.count"},
        {"{\"set\":{\"status\":\"LOST\"}}", 1, "answer.set.status"},
        {"{\"set\":[]}", 1, "answer.set: must be an object"},
        {"{\"unset\":\"notes\"}", 1, "answer.unset: must be a list of field names"},
        {"{\"unset\":[\"nope\"]}", 1, "answer.unset[0]: not a field of Order"},
        {"{\"unset\":[\"customer\"]}", 1, "answer.unset[0]: customer is required"},
        {"{\"unset\":[\"notes\"],\"set\":{\"notes\":1}}", 1, "answer.unset[0]: notes is also in set"},
        {"{\"delete\":1}", 1, "answer.delete: must be a boolean"},
        {"{\"delete\":true,\"set\":{\"count\":1}}", 1, "answer.delete: cannot be combined with set or unset"},
        {"{\"set\":{\"count\":1}}", 0, "an event of another component"},
        {"{\"skip\":true}", 1, "answer.skip: must be {\"message\": \"...\"}"},
        {"{\"changes\":{}}", 0, "answer.changes: must be a list"},
        {"{\"changes\":[1]}", 0, "answer.changes[0]: must be an object"},
        {"{\"changes\":[{\"id\":\"x\"}]}", 0, "answer.changes[0].model: must name a model of orders"},
        {"{\"changes\":[{\"model\":\"Nope\",\"id\":\"x\"}]}", 0, "answer.changes[0].model"},
        {"{\"changes\":[{\"model\":\"Order\",\"id\":\"a.b\"}]}", 0, "answer.changes[0].id: must be an id"},
        {"{\"changes\":[{\"model\":\"Order\",\"id\":\"x\",\"sett\":{}}]}", 0,
         "answer.changes[0].sett: unknown field"},
        {"{\"changes\":[{\"model\":\"Order\",\"id\":\"x\"},{\"model\":\"Order\",\"id\":\"y\",\"set\":{"
         "\"qty\":1}}]}",
         0, "answer.changes[1].set.qty: unknown field"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        byron_projector_answer_t a;
        byron_err_t err = {0};
        cr_assert_eq(parse(c, BAD[i].text, BAD[i].own, &a, &err), BYRON_EPROTO, "%s: accepted", BAD[i].text);
        cr_assert(strstr(err.msg, BAD[i].msg), "%s: message \"%s\" lacks \"%s\"", BAD[i].text, err.msg,
                  BAD[i].msg);
        cr_assert(!a.changes && !a.own.set && !a.own.unset, "%s: not cleaned up", BAD[i].text);
    }
    /* Bounded: at most BYRON_HANDLER_MAX_CHANGES. */
    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"changes\":[");
    for (int i = 0; i <= BYRON_HANDLER_MAX_CHANGES; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s{\"model\":\"Order\",\"id\":\"x%d\"}", i ? "," : "",
                              i);
    snprintf(big + n, sizeof big - n, "]}");
    byron_projector_answer_t a;
    byron_err_t err = {0};
    cr_assert_eq(parse(c, big, 0, &a, &err), BYRON_EPROTO);
    cr_assert(strstr(err.msg, "at most 64 changes"), "%s", err.msg);
    byron_component_free(c);
}
