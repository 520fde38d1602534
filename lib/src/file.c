/* file.c — whole small files into memory, bounded.
 *
 * The buffer is what the file needs, not the bound: a regular file's size
 * from fstat, else (a pipe, /proc) 4 KiB doubled as it fills. A bound-sized
 * buffer (4 MiB for a kubeconfig of 5 KiB) is an mmap whose free raises
 * glibc's mmap and trim thresholds for the rest of the process's life. */
#include "byron/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FIRST_CHUNK 4096

/* The first capacity: the file's size and one byte (to see the end or a
 * growth), or a page for a file whose size says nothing; at most want. */
static size_t first_capacity(FILE *f, size_t want) {
    struct stat sb;
    size_t cap = FIRST_CHUNK;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 && (size_t)sb.st_size < want)
        cap = (size_t)sb.st_size + 1;
    return cap < want ? cap : want;
}

byron_status_t byron_file_read(const char *path, size_t max, char **out, size_t *len, byron_err_t *err) {
    *out = NULL;
    if (max >= (size_t)-2) return byron_err_set(err, BYRON_EINVAL, "%s: no bound", path);
    FILE *f = fopen(path, "rb");
    if (!f) return byron_err_set(err, BYRON_EIO, "%s: %s", path, strerror(errno));
    size_t want = max + 1; /* one byte beyond the bound tells a file too large */
    size_t cap = first_capacity(f, want), n = 0;
    char *buf = malloc(cap + 1);
    byron_status_t st = BYRON_OK;
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap == want) break; /* the end, an error, or more than max */
        size_t ncap = cap > want / 2 ? want : cap * 2;
        char *nb = realloc(buf, ncap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap = ncap;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
    else if (bad)
        st = byron_err_set(err, BYRON_EIO, "%s: read error", path);
    else if (n > max)
        st = byron_err_set(err, BYRON_ELIMIT, "%s: larger than %zu bytes", path, max);
    if (st) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return BYRON_OK;
}
