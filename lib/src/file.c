/* file.c — whole small files into memory, bounded. */
#include "byron/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

byron_status_t byron_file_read(const char *path, size_t max, char **out, size_t *len, byron_err_t *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return byron_err_set(err, BYRON_EIO, "%s: %s", path, strerror(errno));
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > max) {
        free(buf);
        return byron_err_set(err, bad ? BYRON_EIO : BYRON_ELIMIT, "%s: %s", path,
                             bad ? "read error" : "file too large");
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return BYRON_OK;
}
