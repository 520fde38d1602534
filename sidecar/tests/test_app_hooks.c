/* test_app_hooks.c — an app's hook declaration (app_hooks.h): what it accepts,
 * what it refuses with which message, and the lookup. */
#include "app_hooks.h"
#include "byron/json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse text; the status, and the declaration in *out (NULL on refusal). */
static byron_status_t parse(const char *text, byron_app_hooks_t **out, byron_err_t *err) {
    json_object *o = NULL;
    cr_assert_eq(byron_json_parse(text, strlen(text), 8, &o, err), BYRON_OK, "%s", err->msg);
    byron_status_t st = byron_app_hooks_parse(o, out, err);
    json_object_put(o);
    return st;
}

Test(app_hooks, declared_paths_are_found_and_only_those) {
    byron_app_hooks_t *h = NULL;
    byron_err_t err = {0};
    cr_assert_eq(parse("{\"hooks\":[\"/v1/events/OrderShipped\",\"/v1/commands/createOrder/before\","
                       "\"/v1/events/OrderShipped\",\"/v1/commands/ship-order.v2\"]}",
                       &h, &err),
                 BYRON_OK, "%s", err.msg);
    cr_assert_eq(byron_app_hooks_count(h), 3, "a repeated path counts once");
    cr_assert(byron_app_hooks_declares(h, "/v1/commands/createOrder/before"));
    cr_assert(byron_app_hooks_declares(h, "/v1/events/OrderShipped"));
    cr_assert(byron_app_hooks_declares(h, "/v1/commands/ship-order.v2"));
    cr_assert_not(byron_app_hooks_declares(h, "/v1/commands/createOrder"));
    cr_assert_not(byron_app_hooks_declares(h, "/v1/commands/createOrder/after"));
    cr_assert_not(byron_app_hooks_declares(h, "/v1/events/OrderShipped/before"));
    byron_app_hooks_free(h);
    cr_assert_eq(parse("{\"hooks\":[]}", &h, &err), BYRON_OK);
    cr_assert_eq(byron_app_hooks_count(h), 0);
    cr_assert_not(byron_app_hooks_declares(h, "/v1/commands/createOrder/before"));
    byron_app_hooks_free(h);
}

Test(app_hooks, a_declaration_that_breaks_a_rule_is_refused_with_its_reason) {
    static const struct {
        const char *text, *msg;
    } CASES[] = {
        {"[\"/v1/commands/x\"]", "must be a JSON object"},
        {"{}", "hooks: must be an array"},
        {"{\"hooks\":\"/v1/commands/x\"}", "hooks: must be an array"},
        {"{\"hooks\":[],\"events\":[]}", "events: unknown field"},
        {"{\"hooks\":[1]}", "hooks[0]: must be a string"},
        {"{\"hooks\":[\"/v1/commands/a\",\"/v1/health\"]}", "hooks[1]: does not start with"},
        {"{\"hooks\":[\"/v1/commands//before\"]}", "empty segment"},
        {"{\"hooks\":[\"/v1/events/X/\"]}", "empty segment"},
        {"{\"hooks\":[\"/v1/events/X?y=1\"]}", "holds a character"},
        {"{\"hooks\":[\"/v1/events/X\\u0000/before\"]}", "holds a character"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        byron_app_hooks_t *h = (byron_app_hooks_t *)1;
        byron_err_t err = {0};
        cr_assert_eq(parse(CASES[i].text, &h, &err), BYRON_EINVAL, "%s", CASES[i].text);
        cr_assert_null(h, "%s", CASES[i].text);
        cr_assert_not_null(strstr(err.msg, CASES[i].msg), "%s: %s", CASES[i].text, err.msg);
    }
}

Test(app_hooks, bounds_on_paths_and_their_number) {
    char path[400], *text = malloc(BYRON_APP_HOOKS_MAX * 24 + 64);
    byron_app_hooks_t *h = NULL;
    byron_err_t err = {0};
    snprintf(path, sizeof path, "{\"hooks\":[\"/v1/events/%0*d\"]}", BYRON_APP_HOOKS_PATH_MAX - 11, 0);
    cr_assert_eq(parse(path, &h, &err), BYRON_OK, "%s", err.msg); /* exactly 300 bytes */
    byron_app_hooks_free(h);
    snprintf(path, sizeof path, "{\"hooks\":[\"/v1/events/%0*d\"]}", BYRON_APP_HOOKS_PATH_MAX - 10, 0);
    cr_assert_eq(parse(path, &h, &err), BYRON_EINVAL);
    cr_assert_not_null(strstr(err.msg, "longer than 300 bytes"), "%s", err.msg);
    for (int n = BYRON_APP_HOOKS_MAX; n <= BYRON_APP_HOOKS_MAX + 1; n++) {
        size_t len = (size_t)sprintf(text, "{\"hooks\":[");
        for (int i = 0; i < n; i++)
            len += (size_t)sprintf(text + len, "%s\"/v1/events/E%d\"", i ? "," : "", i);
        strcpy(text + len, "]}");
        byron_status_t st = parse(text, &h, &err);
        if (n == BYRON_APP_HOOKS_MAX) {
            cr_assert_eq(st, BYRON_OK, "%s", err.msg);
            cr_assert_eq(byron_app_hooks_count(h), BYRON_APP_HOOKS_MAX);
            cr_assert(byron_app_hooks_declares(h, "/v1/events/E4095"));
            byron_app_hooks_free(h);
        } else {
            cr_assert_eq(st, BYRON_EINVAL);
            cr_assert_not_null(strstr(err.msg, "more than 4096 paths"), "%s", err.msg);
        }
    }
    free(text);
}
