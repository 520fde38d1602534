#include "byron/status.h"

#include <criterion/criterion.h>

Test(status, set_prefix_and_names) {
    byron_err_t err = {0};
    cr_assert_eq(byron_err_set(&err, BYRON_EINVAL, "field %s", "x"), BYRON_EINVAL);
    cr_assert_eq(byron_err_prefix(&err, "config %d", 1), BYRON_EINVAL);
    cr_assert_str_eq(err.msg, "config 1: field x");
    cr_assert_str_eq(byron_status_name(BYRON_ECONFLICT), "conflict");
    cr_assert_eq(byron_err_set(NULL, BYRON_EIO, "ignored"), BYRON_EIO);
    byron_err_clear(&err);
    cr_assert_eq(err.code, BYRON_OK);
}
