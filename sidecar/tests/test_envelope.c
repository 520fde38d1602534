/* test_envelope.c — CloudEvents envelopes: built ones validate, broken ones name the attribute. */
#include "byron/json.h"
#include "component.h"
#include "envelope.h"

#include <criterion/criterion.h>
#include <string.h>

static json_object *sample(void) {
    json_object *data = json_object_new_object();
    json_object_object_add(data, "customer", json_object_new_string("ann"));
    char tp[BYRON_TRACEPARENT_LEN + 1];
    byron_traceparent_new(tp);
    byron_event_spec_t spec = {.source = "/byron/shop/orders",
                               .type = "OrderCreated",
                               .subject = "o-1",
                               .model = "Order",
                               .version = 1,
                               .command = "createOrder",
                               .traceparent = tp,
                               .data = data};
    json_object *ev = byron_event_build(&spec);
    json_object_put(data);
    return ev;
}

Test(envelope, built_envelopes_validate) {
    json_object *ev = sample();
    byron_err_t err = {0};
    cr_assert_eq(byron_event_validate(ev, &err), BYRON_OK, "%s", err.msg);
    const char *s = byron_json_compact(ev);
    json_object *back = NULL;
    cr_assert_eq(byron_event_parse(s, strlen(s), &back, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(json_object_get_string(json_object_object_get(back, "specversion")), "1.0");
    cr_assert_eq(json_object_get_int(json_object_object_get(back, "byronversion")), 1);
    cr_assert_eq(strlen(json_object_get_string(json_object_object_get(back, "id"))), BYRON_UUID_LEN);
    json_object_put(back);
    json_object_put(ev);
}

static const struct {
    const char *key;
    const char *json; /* replacement value; NULL: remove */
    const char *msg;
} BAD[] = {
    {"specversion", "\"0.3\"", "event.specversion: \"0.3\" is not supported (want 1.0)"},
    {"id", NULL, "event.id: required"},
    {"id", "\"\"", "event.id: must not be empty"},
    {"source", "7", "event.source: must be a string, not an integer"},
    {"type", "\"order.created\"", "event.type: \"order.created\" must match ^[A-Z][A-Za-z0-9]*$"},
    {"subject", "\"a.b\"", "event.subject: \"a.b\" is not a valid aggregate id"},
    {"time", "\"now\"", "event.time: \"now\" is not an RFC 3339 date-time"},
    {"datacontenttype", "\"text/plain\"", "event.datacontenttype: \"text/plain\" (want application/json)"},
    {"data", "[1]", "event.data: must be an object, not an array"},
    {"byronmodel", NULL, "event.byronmodel: required"},
    {"byronversion", "0", "event.byronversion: must be between 1 and 9223372036854775807"},
    {"byronsequence", "\"7\"", "event.byronsequence: must be an integer, not a string"},
    {"traceparent", "\"00-zz\"", "event.traceparent: not a W3C traceparent"},
    {"Bad_Name", "1", "event: \"Bad_Name\" is not a valid attribute name"},
    {"extra", "{}", "event.extra: attribute values must be strings, numbers or booleans"},
};

Test(envelope, broken_envelopes_name_the_attribute) {
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        json_object *ev = sample();
        if (BAD[i].json) {
            json_object *v = NULL;
            byron_err_t perr;
            cr_assert_eq(byron_json_parse(BAD[i].json, strlen(BAD[i].json), 0, &v, &perr), BYRON_OK);
            json_object_object_add(ev, BAD[i].key, v);
        } else {
            json_object_object_del(ev, BAD[i].key);
        }
        byron_err_t err = {0};
        cr_assert_eq(byron_event_validate(ev, &err), BYRON_EINVAL, "case %zu accepted", i);
        cr_assert_str_eq(err.msg, BAD[i].msg, "case %zu", i);
        json_object_put(ev);
    }
}

Test(envelope, parse_rejects_garbage_and_oversize) {
    json_object *ev = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_event_parse("{\"specversion\":", 15, &ev, &err), BYRON_EINVAL);
    cr_assert_null(ev);
    cr_assert_eq(byron_event_parse("[]", 2, &ev, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "event: must be a JSON object");
    cr_assert_eq(byron_event_parse("x", BYRON_EVENT_MAX_BYTES + 1, &ev, &err), BYRON_ELIMIT);
}

Test(envelope, helpers) {
    char tp[BYRON_TRACEPARENT_LEN + 1], u[BYRON_UUID_LEN + 1], t[32];
    byron_traceparent_new(tp);
    cr_assert(byron_traceparent_is_valid(tp), "%s", tp);
    cr_assert_not(byron_traceparent_is_valid("00-00000000000000000000000000000000-0000000000000000-01"));
    byron_uuid4(u);
    cr_assert_eq(u[14], '4');
    byron_time_now_rfc3339(t, sizeof t);
    cr_assert(byron_datetime_is_valid(t), "%s", t);
}
