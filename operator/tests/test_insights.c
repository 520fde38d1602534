/* test_insights.c — the Lagging and DeadLetters conditions and the status
 * fields from a broker reading, at and around their thresholds. */
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
