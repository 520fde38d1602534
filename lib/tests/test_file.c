/* test_file.c — byron_file_read: whole files, bounded, in a buffer their size. */
#include "byron/file.h"

#include <criterion/criterion.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_temp(char *path, const char *text, size_t len) {
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

Test(file, reads_whole_file_nul_terminated) {
    char path[] = "/tmp/byron-file-XXXXXX";
    write_temp(path, "hello\n", 6);
    char *buf = NULL;
    size_t len = 0;
    byron_err_t err = {0};
    cr_assert_eq(byron_file_read(path, 6, &buf, &len, &err), BYRON_OK, "%s", err.msg);
    cr_assert_eq(len, 6);
    cr_assert_str_eq(buf, "hello\n");
    free(buf);
    cr_assert_eq(byron_file_read(path, 5, &buf, &len, &err), BYRON_ELIMIT);
    cr_assert_null(buf);
    cr_assert(strstr(err.msg, "larger than 5 bytes") != NULL, "%s", err.msg);
    unlink(path);
    cr_assert_eq(byron_file_read(path, 6, &buf, &len, &err), BYRON_EIO);
    cr_assert(strstr(err.msg, "No such file") != NULL, "%s", err.msg);
}

/* A small file under a large bound takes a buffer of its size, not the
 * bound's: a bound-sized one would be an mmap whose free raises glibc's
 * malloc thresholds for the whole process. */
Test(file, small_file_takes_a_small_buffer) {
    char path[] = "/tmp/byron-file-XXXXXX";
    write_temp(path, "{\"a\": 1}", 8);
    char *buf = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_file_read(path, 4u << 20, &buf, NULL, &err), BYRON_OK, "%s", err.msg);
    cr_assert_lt(malloc_usable_size(buf), 64, "%zu bytes for a file of 8", malloc_usable_size(buf));
    cr_assert_str_eq(buf, "{\"a\": 1}");
    free(buf);
    unlink(path);
}

/* A file whose size fstat does not give (/proc) grows its buffer, within
 * the bound, and is refused beyond it. */
Test(file, file_without_size_grows_within_bound) {
    char *buf = NULL;
    size_t len = 0;
    byron_err_t err = {0};
    cr_assert_eq(byron_file_read("/proc/self/smaps", 64u << 20, &buf, &len, &err), BYRON_OK, "%s", err.msg);
    cr_assert_gt(len, 8192, "smaps: %zu bytes", len); /* beyond two doublings of the first 4 KiB */
    cr_assert_eq(strlen(buf), len);
    cr_assert_lt(malloc_usable_size(buf), 4 * len + 64);
    free(buf);
    cr_assert_eq(byron_file_read("/proc/self/smaps", 5000, &buf, &len, &err), BYRON_ELIMIT);
    cr_assert_null(buf);
}
