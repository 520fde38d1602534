/* test_subject.c — fnv1a32, partitions and subjects as in the contract. */
#include "byron/json.h"
#include "subject.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

Test(subject, fnv1a32_reference_vectors) {
    /* Reference values of 32-bit FNV-1a (isthe.com/chongo/tech/comp/fnv). */
    cr_assert_eq(byron_fnv1a32("", 0), 0x811c9dc5u);
    cr_assert_eq(byron_fnv1a32("a", 1), 0xe40c292cu);
    cr_assert_eq(byron_fnv1a32("foobar", 6), 0xbf9cf968u);
}

Test(subject, partition_hashes_model_slash_id) {
    const char *key = "Order/o-1";
    cr_assert_eq(byron_partition("Order", "o-1", 8), byron_fnv1a32(key, strlen(key)) % 8);
    cr_assert_eq(byron_partition("Order", "o-1", 1), 0);
    /* Spread: 1000 ids over 8 partitions touch every partition. */
    int seen[8] = {0};
    for (int i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof id, "id%d", i);
        seen[byron_partition("Order", id, 8)]++;
    }
    for (int p = 0; p < 8; p++) cr_assert_gt(seen[p], 60, "partition %d got %d", p, seen[p]);
}

Test(subject, formats) {
    const char *text = "{\"component\":\"orders\",\"namespace\":\"shop\",\"partitions\":8,\"models\":[{"
                       "\"name\":\"Order\"}]}";
    json_object *root;
    byron_err_t err;
    cr_assert_eq(byron_json_parse(text, strlen(text), 0, &root, &err), BYRON_OK);
    byron_component_t *c;
    cr_assert_eq(byron_component_parse(root, &c, &err), BYRON_OK, "%s", err.msg);
    char buf[BYRON_SUBJECT_MAX], want[BYRON_SUBJECT_MAX];
    cr_assert_gt(byron_subject_format(buf, sizeof buf, c, "Order", "o-1"), 0);
    snprintf(want, sizeof want, "byron.shop.orders.%u.Order.o-1", byron_fnv1a32("Order/o-1", 9) % 8);
    cr_assert_str_eq(buf, want);
    cr_assert_eq(byron_subject_format(buf, 10, c, "Order", "o-1"), -1);
    cr_assert_gt(byron_subject_stream_filter(buf, sizeof buf, c), 0);
    cr_assert_str_eq(buf, "byron.shop.orders.>");
    byron_component_free(c);
    json_object_put(root);
}
