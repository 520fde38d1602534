/* test_cli_output.c — kubectl-byron's output formats: kubectl's tables,
 * JSON, YAML that reads back as the same JSON, sizes and ages. */
#include "byron/kubeconfig.h"
#include "byron/yaml.h"
#include "cli_output.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static char *capture_table(const char *const *h, const char *const rows[][4], size_t n, size_t max) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    byron_cli_table_t *t = byron_cli_table_new(h);
    for (size_t i = 0; i < n; i++) byron_cli_table_row(t, rows[i]);
    byron_cli_table_print(t, f, max);
    fclose(f);
    return buf;
}

Test(cli_output, tables_are_kubectls) {
    const char *const h[] = {"NAME", "READY", "AGE", "ERROR", NULL};
    const char *const rows[][4] = {{"orders", "True", "5m", "a\nb"}, {"shipping-long", NULL, "12h", ""}};
    char *t = capture_table(h, rows, 2, 0);
    cr_assert_str_eq(t, "NAME            READY    AGE   ERROR\n"
                        "orders          True     5m    a b\n"
                        "shipping-long   <none>   12h   <none>\n");
    free(t);
    const char *const w[][4] = {{"ü", "x", "1234567890", "é"}};
    t = capture_table(h, w, 1, 6); /* characters, not bytes; cut with "..." */
    cr_assert_str_eq(t, "NAME   READY   AGE      ERROR\n"
                        "ü      x       123...   é\n");
    free(t);
}

static char *capture(json_object *o, int yaml) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (yaml)
        cr_assert_eq(byron_cli_print_yaml(f, o, 0), 0);
    else
        byron_cli_print_json(f, o);
    fclose(f);
    return buf;
}

Test(cli_output, yaml_reads_back_as_the_same_json) {
    const char *doc =
        "{\"name\":\"orders\",\"count\":3,\"ratio\":0.5,\"ok\":true,\"none\":null,"
        "\"tricky\":[\"true\",\"42\",\"\",\"a: b\",\"- x\",\"#c\",\"line\\nbreak\",\"null\",\"1e3\",\"ünï\"],"
        "\"nested\":{\"k\":{\"deep\":[1,{\"x\":\"y\"}]}},\"empty\":{},\"list\":[]}";
    json_object *o = json_tokener_parse(doc);
    char *y = capture(o, 1);
    cr_assert(strstr(y, "name: orders\n"), "%s", y); /* plain where YAML reads it as the same string */
    cr_assert(strstr(y, "- \"true\"\n"), "%s", y);   /* quoted where it would not */
    cr_assert(strstr(y, "count: 3\n"), "%s", y);
    json_object *back = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_yaml_parse(y, strlen(y), 1, &back, &err), BYRON_OK, "%s\n%s", err.msg, y);
    cr_assert(json_object_equal(o, back), "%s\n->\n%s", y, json_object_to_json_string(back));
    json_object_put(back);
    free(y);
    char *j = capture(o, 0);
    back = json_tokener_parse(j);
    cr_assert(json_object_equal(o, back));
    cr_assert(strstr(j, "\n  \"name\": \"orders\""), "%s", j); /* indented, as kubectl -o json */
    json_object_put(back);
    free(j);
    json_object_put(o);
}

Test(cli_output, sizes_and_ages) {
    char b[32];
    byron_cli_bytes(0, b, sizeof b);
    cr_assert_str_eq(b, "0 B");
    byron_cli_bytes(1023, b, sizeof b);
    cr_assert_str_eq(b, "1023 B");
    byron_cli_bytes(4200, b, sizeof b);
    cr_assert_str_eq(b, "4.1 KiB");
    byron_cli_bytes(12u << 20, b, sizeof b);
    cr_assert_str_eq(b, "12 MiB");
    int64_t t0 = 1764547200; /* 2025-12-01T00:00:00Z */
    byron_cli_age("2025-12-01T00:00:00Z", t0 + 45, b, sizeof b);
    cr_assert_str_eq(b, "45s");
    byron_cli_age("2025-12-01T00:00:00Z", t0 + 12 * 60, b, sizeof b);
    cr_assert_str_eq(b, "12m");
    byron_cli_age("2025-12-01T00:00:00Z", t0 + 3 * 3600, b, sizeof b);
    cr_assert_str_eq(b, "3h");
    byron_cli_age("2025-12-01T00:00:00Z", t0 + 5 * 86400, b, sizeof b);
    cr_assert_str_eq(b, "5d");
    byron_cli_age("not a time", t0, b, sizeof b);
    cr_assert_str_eq(b, "<unknown>");
    byron_cli_age(NULL, t0, b, sizeof b);
    cr_assert_str_eq(b, "<unknown>");
}
