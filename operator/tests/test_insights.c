/* test_insights.c — the Lagging and DeadLetters conditions and the status
 * fields from a broker reading, at and around their thresholds. */
#include "desired.h"
#include "insights.h"

#include <criterion/criterion.h>
#include <string.h>

static const byron_insights_thresholds_t T = {.lag = 100, .dead_letters = 1};

static void conditions_of(const byron_broker_insights_t *in, byron_insight_condition_t c[2]) {
    byron_insights_conditions(in, &T, "orders", c);
    cr_assert_str_eq(c[0].type, "Lagging");
    cr_assert_str_eq(c[1].type, "DeadLetters");
}

Test(insights, conditions_follow_the_thresholds) {
    byron_broker_insights_t in = {.measured = 1, .lag = 100, .dead_letters = 0};
    byron_insight_condition_t c[2];
    conditions_of(&in, c);
    cr_assert_eq(c[0].status, 0); /* at the threshold: not lagging */
    cr_assert_str_eq(c[0].reason, "SinkCaughtUp");
    cr_assert(strstr(c[0].message, "100 events left"), "%s", c[0].message);
    cr_assert_eq(c[1].status, 0);
    cr_assert_str_eq(c[1].reason, "NoDeadLetters");
    in.lag = 101;
    in.dead_letters = 1;
    conditions_of(&in, c);
    cr_assert_eq(c[0].status, 1);
    cr_assert_str_eq(c[0].reason, "SinkBehind");
    cr_assert_eq(c[1].status, 1);
    cr_assert_str_eq(c[1].reason, "DeadLettersOpen");
    cr_assert(strstr(c[1].message, "1 dead letter waits for a decision: kubectl byron dlq list orders"), "%s",
              c[1].message);
}

Test(insights, unmeasured_is_unknown_and_says_why) {
    byron_insight_condition_t c[2];
    conditions_of(NULL, c);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(c[i].status, -1);
        cr_assert_str_eq(c[i].reason, "NotMeasured");
        cr_assert(strstr(c[i].message, "not read from the broker yet"));
    }
    byron_broker_insights_t in = {.measured = 0};
    strcpy(in.error, "NATS at nats://x:4222: no servers");
    conditions_of(&in, c);
    cr_assert_eq(c[0].status, -1);
    cr_assert(strstr(c[0].message, "did not answer: NATS at nats://x:4222"), "%s", c[0].message);
}

Test(insights, status_fields_only_from_a_reading) {
    byron_broker_insights_t in = {
        .measured = 1, .messages = 12, .bytes = 4200, .replicas = 3, .lag = 7, .dead_letters = 2};
    strcpy(in.stream, "BYRON_shop_orders");
    strcpy(in.time, "2026-12-01T07:00:00Z");
    json_object *st = json_object_new_object(), *sink = json_object_new_object();
    json_object_object_add(st, "sink", sink);
    byron_insights_status(st, &in);
    cr_assert_str_eq(
        json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN),
        "{\"sink\":{\"lag\":7},\"stream\":{\"name\":\"BYRON_shop_orders\",\"messages\":12,\"bytes\":4200,"
        "\"replicas\":3,\"time\":\"2026-12-01T07:00:00Z\"},\"deadLetters\":2}");
    json_object_put(st);
    st = json_object_new_object();
    in.measured = 0;
    byron_insights_status(st, &in);
    cr_assert_eq(json_object_object_length(st), 0);
    json_object_put(st);
}

/* status.rebuild (docs/operator.md) and the generation asked of the sink (desired.h). */
static json_object *bc_with(const char *token, const char *requested, long long generation) {
    json_object *bc = json_object_new_object(), *spec = json_object_new_object(),
                *cache = json_object_new_object();
    json_object_object_add(bc, "spec", spec);
    json_object_object_add(spec, "cache", cache);
    if (token) json_object_object_add(cache, "rebuild", json_object_new_string(token));
    if (requested) {
        json_object *st = json_object_new_object(), *rb = json_object_new_object();
        json_object_object_add(rb, "requested", json_object_new_string(requested));
        json_object_object_add(rb, "generation", json_object_new_int64(generation));
        json_object_object_add(rb, "phase", json_object_new_string("Building"));
        json_object_object_add(rb, "projected", json_object_new_int64(7));
        json_object_object_add(rb, "total", json_object_new_int64(9));
        json_object_object_add(st, "rebuild", rb);
        json_object_object_add(bc, "status", st);
    }
    return bc;
}

static const char *field(json_object *st, const char *k) {
    return json_object_get_string(json_object_object_get(json_object_object_get(st, "rebuild"), k));
}

Test(insights, a_new_rebuild_token_is_the_next_generation_once) {
    const char *token = NULL;
    json_object *bc = bc_with(NULL, NULL, 0);
    cr_assert_eq(byron_desired_cache_generation(bc, &token), 0);
    cr_assert_null(token);
    json_object_put(bc);
    bc = bc_with("t1", NULL, 0); /* asked, never seen */
    cr_assert_eq(byron_desired_cache_generation(bc, &token), 1);
    cr_assert_str_eq(token, "t1");
    json_object_put(bc);
    bc = bc_with("t1", "t1", 1); /* seen: stays */
    cr_assert_eq(byron_desired_cache_generation(bc, NULL), 1);
    json_object_put(bc);
    bc = bc_with("t2", "t1", 1); /* a new token: one more */
    cr_assert_eq(byron_desired_cache_generation(bc, NULL), 2);
    json_object_put(bc);
    bc = bc_with(NULL, "t1", 4); /* the token removed: the generation stays */
    cr_assert_eq(byron_desired_cache_generation(bc, NULL), 4);
    json_object_put(bc);
}

Test(insights, the_rebuild_phase_follows_the_lanes_generations) {
    byron_broker_insights_t in = {.measured = 1, .messages = 10, .gen_min = 0, .gen_max = 0};
    json_object *st = json_object_new_object();
    byron_insights_rebuild(st, NULL, 0, NULL, &in);
    cr_assert_null(json_object_object_get(st, "rebuild"), "no rebuild asked: no report");
    byron_insights_rebuild(st, NULL, 1, "t1", &in);
    cr_assert_str_eq(field(st, "phase"), "Pending");
    cr_assert_str_eq(field(st, "requested"), "t1");
    cr_assert_str_eq(field(st, "generation"), "1");
    in.gen_max = 1;
    in.rebuild_left = 4;
    byron_insights_rebuild(st, NULL, 1, "t1", &in);
    cr_assert_str_eq(field(st, "phase"), "Building");
    cr_assert_str_eq(field(st, "projected"), "6");
    cr_assert_str_eq(field(st, "total"), "10");
    cr_assert(strstr(field(st, "message"), "until this one has caught up"), "%s", field(st, "message"));
    in.rebuild_left = 0;
    byron_insights_rebuild(st, NULL, 1, "t1", &in);
    cr_assert_str_eq(field(st, "phase"), "Building");
    cr_assert(strstr(field(st, "message"), "has caught up: the api reads it once the sink switches"), "%s",
              field(st, "message"));
    in.gen_min = 1;
    byron_insights_rebuild(st, NULL, 1, "t1", &in);
    cr_assert_str_eq(field(st, "phase"), "Complete");
    cr_assert_str_eq(field(st, "projected"), "10");
    cr_assert(strstr(field(st, "message"), "the api reads cache generation 1"));
    /* not read: the last report stays, for the same generation only */
    json_object *old = bc_with("t1", "t1", 1), *old_status = json_object_object_get(old, "status");
    byron_insights_rebuild(st, old_status, 1, "t1", NULL);
    cr_assert_str_eq(field(st, "phase"), "Building");
    cr_assert_str_eq(field(st, "projected"), "7");
    byron_insights_rebuild(st, old_status, 2, "t2", NULL);
    cr_assert_str_eq(field(st, "phase"), "Pending");
    cr_assert_str_eq(field(st, "projected"), "0");
    json_object_put(old);
    json_object_put(st);
}
