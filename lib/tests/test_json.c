#include "byron/json.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_object *parse_ok(const char *s) {
    json_object *o = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_json_parse(s, strlen(s), 0, &o, &err), BYRON_OK, "%s: %s", s, err.msg);
    return o;
}

static byron_status_t parse_err(const char *s, byron_err_t *err) {
    json_object *o = NULL;
    byron_status_t st = byron_json_parse(s, strlen(s), 4, &o, err);
    cr_assert_null(o);
    return st;
}

Test(json, parses_documents_and_top_level_scalars) {
    json_object *o = parse_ok(" {\"a\": [1, 2, {\"b\": null}]} \n");
    cr_assert(json_object_is_type(o, json_type_object));
    json_object_put(o);
    o = parse_ok("42");
    cr_assert_eq(json_object_get_int(o), 42);
    json_object_put(o);
}

Test(json, rejects_garbage_trailing_data_and_depth) {
    byron_err_t err = {0};
    cr_assert_eq(parse_err("{\"a\":", &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "unexpected end") != NULL, "%s", err.msg);
    cr_assert_eq(parse_err("{} {}", &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "byte 3") != NULL, "%s", err.msg);
    cr_assert_eq(parse_err("[[[[[[1]]]]]]", &err), BYRON_EINVAL);
    cr_assert_eq(parse_err("", &err), BYRON_EINVAL);
}

Test(json, rejects_non_finite_numbers) {
    static const char *const BAD[] = {"NaN", "[1, Infinity]", "{\"a\": {\"b\": -Infinity}}", "1e999",
                                      "[-1E400]"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        json_object *o = NULL;
        byron_err_t err = {0};
        cr_assert_eq(byron_json_parse(BAD[i], strlen(BAD[i]), 0, &o, &err), BYRON_EINVAL, "accepted %s",
                     BAD[i]);
        cr_assert(strstr(err.msg, "finite"), "%s", err.msg);
        cr_assert_null(o);
    }
    json_object *o = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_json_parse("[1.5e300, -0.0, 7]", 18, 0, &o, &err), BYRON_OK, "%s", err.msg);
    json_object_put(o);
}

Test(json, getters_name_the_field) {
    json_object *o = parse_ok("{\"name\": 7, \"n\": 300, \"ok\": true, \"s\": \"x\", \"m\": {}}");
    byron_err_t err = {0};
    const char *s = NULL;
    cr_assert_eq(byron_json_get_string(o, "spec.models[2]", "name", 0, &s, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "spec.models[2].name: must be a string, not an integer");
    cr_assert_eq(byron_json_get_string(o, "spec", "missing", 0, &s, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "spec.missing: required");
    cr_assert_eq(byron_json_get_string(o, "spec", "missing", BYRON_JSON_OPTIONAL, &s, &err), BYRON_OK);
    cr_assert_null(s);
    cr_assert_eq(byron_json_get_string(o, "", "s", 0, &s, &err), BYRON_OK);
    cr_assert_str_eq(s, "x");
    int64_t n = 0;
    cr_assert_eq(byron_json_get_int(o, "spec", "n", 0, 0, 255, &n, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "spec.n: must be between 0 and 255");
    cr_assert_eq(byron_json_get_int(o, "spec", "n", 0, 0, 1000, &n, &err), BYRON_OK);
    cr_assert_eq(n, 300);
    int b = 0;
    cr_assert_eq(byron_json_get_bool(o, NULL, "ok", 0, &b, &err), BYRON_OK);
    cr_assert_eq(b, 1);
    json_object *m = NULL;
    cr_assert_eq(byron_json_get_object(o, NULL, "m", 0, &m, &err), BYRON_OK);
    cr_assert_eq(byron_json_get_array(o, NULL, "m", 0, &m, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "m: must be an array, not an object");
    json_object_put(o);
}

Test(json, parse_file_limits_size) {
    char path[] = "/tmp/byron-json-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char *doc = "{\"a\": 1}";
    cr_assert_eq(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
    close(fd);
    json_object *o = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_json_parse_file(path, 4, &o, &err), BYRON_ELIMIT);
    cr_assert_eq(byron_json_parse_file(path, 1024, &o, &err), BYRON_OK);
    json_object_put(o);
    unlink(path);
    cr_assert_eq(byron_json_parse_file(path, 1024, &o, &err), BYRON_EIO);
    cr_assert(strstr(err.msg, "No such file") != NULL, "%s", err.msg);
}

Test(json, check_keys_names_the_first_unknown_field) {
    static const char *const KEYS[] = {"name", "type", NULL};
    byron_err_t err = {0};
    json_object *o = NULL;
    cr_assert_eq(byron_json_parse("{\"name\":1,\"type\":2}", 19, 0, &o, &err), BYRON_OK);
    cr_assert_eq(byron_json_check_keys(o, "spec.models[0]", KEYS, &err), BYRON_OK);
    json_object_object_add(o, "nmae", json_object_new_int(3));
    cr_assert_eq(byron_json_check_keys(o, "spec.models[0]", KEYS, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "spec.models[0].nmae: unknown field");
    cr_assert_eq(byron_json_check_keys(o, "", KEYS, &err), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "nmae: unknown field", "at the top level, no leading dot");
    json_object_put(o);
    char **v = calloc(2, sizeof *v);
    v[0] = strdup("a");
    v[1] = strdup("b");
    byron_json_strings_free(v, 2); /* ASan: nothing left */
    byron_json_strings_free(NULL, 0);
}
