/* test_config.c — component config parsing and validation. */
#include "byron/json.h"
#include "component.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static byron_status_t parse_str(const char *text, byron_component_t **c, byron_err_t *err) {
    json_object *root = NULL;
    byron_status_t st = byron_json_parse(text, strlen(text), 0, &root, err);
    if (st != BYRON_OK) return st;
    st = byron_component_parse(root, c, err);
    json_object_put(root);
    return st;
}

static char *data_path(const char *name) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/sidecar/tests/data/%s",
             getenv("BYRON_SOURCE_DIR") ? getenv("BYRON_SOURCE_DIR") : SRC_DIR, name);
    return buf;
}

Test(config, loads_the_example) {
    byron_component_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_component_load(data_path("orders.json"), &c, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(c->component, "orders");
    cr_assert_eq(c->partitions, 8);
    cr_assert_str_eq(c->stream, "BYRON_shop_orders");
    cr_assert_str_eq(c->subject_prefix, "byron.shop.orders");
    cr_assert_str_eq(c->source, "/byron/shop/orders");
    const byron_model_t *m = byron_component_model(c, "Order");
    cr_assert_not_null(m);
    cr_assert_eq(byron_model_field(m, "status")->kind, BYRON_TYPE_ENUM);
    cr_assert_eq(byron_model_field(m, "lines")->kind, BYRON_TYPE_MODEL);
    cr_assert_eq(byron_model_field(m, "lines")->model_ref, byron_component_model(c, "OrderLine"));
    byron_command_ref_t ref;
    cr_assert_eq(byron_component_command(c, "createOrder", &ref), BYRON_OK);
    cr_assert_eq(ref.kind, BYRON_CMD_CREATE);
    cr_assert_eq(byron_component_command(c, "deleteOrderLine", &ref), BYRON_OK);
    cr_assert_eq(ref.kind, BYRON_CMD_DELETE);
    cr_assert_eq(ref.model, byron_component_model(c, "OrderLine"));
    cr_assert_eq(byron_component_command(c, "shipOrder", &ref), BYRON_OK);
    cr_assert_eq(ref.kind, BYRON_CMD_CUSTOM);
    cr_assert_eq(byron_component_command(c, "createNothing", &ref), BYRON_ENOTFOUND);
    json_object *meta = byron_component_to_json(c);
    cr_assert_not_null(strstr(byron_json_compact(meta), "\"stream\":\"BYRON_shop_orders\""));
    json_object_put(meta);
    byron_component_free(c);
}

Test(config, dashes_become_underscores_in_stream_names) {
    byron_component_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(parse_str("{\"component\":\"my-orders\",\"namespace\":\"a-b\"}", &c, &err), BYRON_OK, "%s",
                 err.msg);
    cr_assert_str_eq(c->stream, "BYRON_a_b_my_orders");
    cr_assert_eq(c->partitions, 1);
    byron_component_free(c);
}

/* Each bad config and the exact message it must produce. */
static const struct {
    const char *json;
    const char *msg;
} BAD[] = {
    {"[]", "component config: must be a JSON object"},
    {"{\"namespace\":\"shop\"}", "component: required"},
    {"{\"component\":\"Orders\",\"namespace\":\"shop\"}", "component: \"Orders\" is not a DNS label"},
    {"{\"component\":\"o\",\"namespace\":\"shop\",\"partitions\":0}",
     "partitions: must be between 1 and 4096"},
    {"{\"component\":\"o\",\"namespace\":\"shop\",\"modles\":[]}", "modles: unknown field"},
    {"{\"component\":\"o\",\"namespace\":\"shop\",\"apiVersion\":\"v2\"}",
     "apiVersion: \"v2\" is not supported (want byron.io/v1alpha1)"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"A\",\"fields\":[]},{\"name\":\"B\","
     "\"fields\":[{\"name\":\"x\",\"type\":\"Strin\"}]}]}",
     "models[1].fields[0].type: unknown type \"Strin\""},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"a\"}]}",
     "models[0].name: \"a\" must match ^[A-Z][A-Za-z0-9]*$"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"A\"},{\"name\":\"A\"}]}",
     "models[1].name: \"A\" is already a type"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"String\"}]}",
     "models[0].name: \"String\" is already a type"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"A\",\"fields\":[{\"name\":\"id\","
     "\"type\":\"ID\"}]}]}",
     "models[0].fields[0].name: \"id\" is implicit and may not be declared"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"A\",\"fields\":[{\"name\":\"x\","
     "\"type\":\"Int\",\"requird\":true}]}]}",
     "models[0].fields[0].requird: unknown field"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"A\",\"fields\":[{\"name\":\"x\","
     "\"type\":\"Int\",\"required\":1}]}]}",
     "models[0].fields[0].required: must be a boolean, not an integer"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"A\",\"fields\":[{\"name\":\"x\","
     "\"type\":\"Int\"},{\"name\":\"x\",\"type\":\"Int\"}]}]}",
     "models[0].fields[1].name: duplicate field \"x\""},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"A\",\"fields\":[{\"name\":\"x\","
     "\"type\":\"JSON\",\"indexed\":true}]}]}",
     "models[0].fields[0].indexed: a JSON field cannot be indexed"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"enums\":[{\"name\":\"E\",\"values\":[\"a\"]}]}",
     "enums[0].values[0]: \"a\" is not a valid enum value (^[A-Z][A-Z0-9_]*$)"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"enums\":[{\"name\":\"E\",\"values\":[]}]}",
     "enums[0].values: must not be empty"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"A\"}],\"commands\":[{\"name\":\"go\","
     "\"model\":\"B\",\"emits\":[\"X\"]}]}",
     "commands[0].model: unknown model \"B\""},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"A\"}],\"commands\":[{\"name\":"
     "\"createA\",\"model\":\"A\",\"emits\":[\"X\"]}]}",
     "commands[0].name: \"createA\" is a generated command"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"A\"}],\"commands\":[{\"name\":\"go\","
     "\"model\":\"A\"}]}",
     "commands[0].emits: must name at least one event type"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"models\":[{\"name\":\"A\"}],\"commands\":[{\"name\":\"go\","
     "\"model\":\"A\",\"emits\":[\"X\"],\"input\":[{\"name\":\"n\",\"type\":\"Nope\"}]}]}",
     "commands[0].input[0].type: unknown type \"Nope\""},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"subscriptions\":[{\"component\":\"C\"}]}",
     "subscriptions[0].component: \"C\" is not a DNS label"},
    {"{\"component\":\"o\",\"namespace\":\"s\",\"subscriptions\":[{\"component\":\"c\"},{\"component\":\"c\","
     "\"namespace\":\"s\",\"events\":[\"X\"]}]}",
     "subscriptions[1]: duplicate subscription to s/c (one per component: list all its event types in one)"},
};

Test(config, bad_configs_name_the_field) {
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        byron_component_t *c = NULL;
        byron_err_t err = {0};
        cr_assert_neq(parse_str(BAD[i].json, &c, &err), BYRON_OK, "case %zu accepted", i);
        cr_assert_null(c);
        cr_assert_str_eq(err.msg, BAD[i].msg, "case %zu", i);
    }
}

Test(config, missing_file_is_a_clear_error) {
    byron_component_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_component_load("/nonexistent/component.json", &c, &err), BYRON_EIO);
    cr_assert_not_null(strstr(err.msg, "/nonexistent/component.json"));
}

static byron_status_t validate(byron_component_t *c, const char *input, int partial, byron_err_t *err) {
    json_object *in = NULL;
    cr_assert_eq(byron_json_parse(input, strlen(input), 0, &in, err), BYRON_OK);
    const byron_model_t *m = byron_component_model(c, "Order");
    byron_status_t st = byron_input_validate(m->fields, m->nfields, in, partial, 1, "input", err);
    json_object_put(in);
    return st;
}

Test(config, input_validation) {
    byron_component_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_component_load(data_path("orders.json"), &c, &err), BYRON_OK, "%s", err.msg);
    cr_assert_eq(
        validate(
            c,
            "{\"customer\":\"ann\",\"status\":\"OPEN\",\"total\":3,\"count\":2,"
            "\"placedAt\":\"2026-11-26T06:40:00.5+01:00\",\"lines\":[\"l1\",\"l-2\"],\"notes\":{\"a\":[1]}}",
            0, &err),
        BYRON_OK, "%s", err.msg);
    cr_assert_eq(validate(c, "{\"status\":\"OPEN\"}", 0, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "input.customer: required");
    cr_assert_eq(validate(c, "{\"status\":\"OPEN\"}", 1, &err), BYRON_OK);
    cr_assert_eq(validate(c, "{\"customer\":null}", 1, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "input.customer: required, may not be null");
    cr_assert_eq(validate(c, "{\"customer\":\"a\",\"status\":\"LOST\"}", 0, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "input.status: \"LOST\" is not a value of OrderStatus");
    cr_assert_eq(validate(c, "{\"customer\":\"a\",\"count\":1.5}", 0, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "input.count: must be Int");
    cr_assert_eq(validate(c, "{\"customer\":\"a\",\"count\":4294967296}", 0, &err), BYRON_EINVAL);
    cr_assert_eq(validate(c, "{\"customer\":\"a\",\"lines\":[\"a.b\"]}", 0, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "input.lines[0]: \"a.b\" is not a valid id ([A-Za-z0-9_-]{1,128})");
    cr_assert_eq(validate(c, "{\"customer\":\"a\",\"placedAt\":\"yesterday\"}", 0, &err), BYRON_EINVAL);
    cr_assert_eq(validate(c, "{\"customer\":\"a\",\"colour\":\"red\"}", 0, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "input.colour: unknown field");
    cr_assert_eq(validate(c, "{\"customer\":\"a\",\"id\":\"x>y\"}", 0, &err), BYRON_EINVAL);
    /* JSON values go into MongoDB documents as they are: no operator or path keys, at any depth. */
    cr_assert_eq(validate(c, "{\"customer\":\"a\",\"notes\":{\"$where\":\"1\"}}", 0, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "input.notes: key \"$where\" may not start with '$'"), "%s", err.msg);
    cr_assert_eq(validate(c, "{\"customer\":\"a\",\"notes\":[{\"x\":{\"a.b\":1}}]}", 0, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "\"a.b\""), "%s", err.msg);
    cr_assert_eq(
        validate(c, "{\"customer\":\"a\",\"notes\":{\"price\":\"$5.00\",\"n\":[1,{\"k\":2}]}}", 0, &err),
        BYRON_OK, "values may hold $ and dots: %s", err.msg);
    byron_component_free(c);
}

Test(config, names_and_ids) {
    cr_assert(byron_id_is_valid("a"));
    cr_assert(byron_id_is_valid("A_b-9"));
    cr_assert_not(byron_id_is_valid(""));
    cr_assert_not(byron_id_is_valid("a.b"));
    cr_assert_not(byron_id_is_valid("a*"));
    cr_assert_not(byron_id_is_valid("a b"));
    char big[130];
    memset(big, 'x', 129);
    big[129] = 0;
    cr_assert_not(byron_id_is_valid(big));
    big[128] = 0;
    cr_assert(byron_id_is_valid(big));
    cr_assert(byron_datetime_is_valid("2026-11-26T06:40:00Z"));
    cr_assert_not(byron_datetime_is_valid("2026-13-26T06:40:00Z"));
    cr_assert_not(byron_datetime_is_valid("2026-11-26 06:40:00Z"));
}
