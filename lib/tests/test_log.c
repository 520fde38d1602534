#include "byron/log.h"

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

Test(log, writes_one_valid_json_object_per_line) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    byron_log_setup("test", BYRON_LOG_INFO, fds[1]);
    byron_log(BYRON_LOG_DEBUG, "hidden", (char *)NULL);
    byron_log(BYRON_LOG_INFO, "hello \"world\"\n", "name", "a\tb", "bad", "\x01", (char *)NULL);
    byron_logf(BYRON_LOG_ERROR, "count=%d", 3);
    close(fds[1]);
    char buf[4096] = {0};
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    cr_assert_gt(n, 0);
    char *save = NULL, *line = strtok_r(buf, "\n", &save);
    json_object *o = json_tokener_parse(line);
    cr_assert_not_null(o, "%s", line);
    cr_assert_str_eq(json_object_get_string(json_object_object_get(o, "msg")), "hello \"world\"\n");
    cr_assert_str_eq(json_object_get_string(json_object_object_get(o, "level")), "info");
    cr_assert_str_eq(json_object_get_string(json_object_object_get(o, "name")), "a\tb");
    cr_assert_str_eq(json_object_get_string(json_object_object_get(o, "bad")), "\x01");
    json_object_put(o);
    line = strtok_r(NULL, "\n", &save);
    o = json_tokener_parse(line);
    cr_assert_str_eq(json_object_get_string(json_object_object_get(o, "msg")), "count=3");
    json_object_put(o);
    cr_assert_null(strtok_r(NULL, "\n", &save));
    cr_assert_eq(byron_log_level_parse("warn"), BYRON_LOG_WARN);
    cr_assert_eq(byron_log_level_parse("loud"), -1);
}
