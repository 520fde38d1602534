/* test_strmap.c — the hash map under the stores and the work queue. */
#include "strmap.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int freed;
static void count_free(void *v) {
    freed++;
    free(v);
}

Test(strmap, set_get_replace_delete_and_grow) {
    freed = 0;
    byron_strmap_t *m = byron_strmap_new(count_free);
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "ns/obj-%d", i);
        int *v = malloc(sizeof *v);
        *v = i;
        cr_assert_eq(byron_strmap_set(m, key, v), 0);
    }
    cr_assert_eq(byron_strmap_len(m), 5000);
    for (int i = 0; i < 5000; i += 7) {
        snprintf(key, sizeof key, "ns/obj-%d", i);
        int *v = byron_strmap_get(m, key);
        cr_assert_not_null(v);
        cr_assert_eq(*v, i);
    }
    int *nv = malloc(sizeof *nv);
    *nv = -1;
    byron_strmap_set(m, "ns/obj-3", nv); /* replace releases the old value */
    cr_assert_eq(freed, 1);
    cr_assert_eq(*(int *)byron_strmap_get(m, "ns/obj-3"), -1);
    cr_assert_eq(byron_strmap_del(m, "ns/obj-3"), 1);
    cr_assert_eq(byron_strmap_del(m, "ns/obj-3"), 0);
    cr_assert_null(byron_strmap_get(m, "ns/obj-3"));
    int *t = byron_strmap_take(m, "ns/obj-4");
    cr_assert_eq(*t, 4);
    free(t);
    cr_assert_eq(byron_strmap_len(m), 4998);
    byron_strmap_free(m);
    cr_assert_eq(freed, 2 + 4998);
}

Test(strmap, fnv1a64_known_vector) {
    cr_assert_eq(byron_fnv1a64("", 0), 0xcbf29ce484222325ULL);
    cr_assert_eq(byron_fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL);
}
