/* file.h — reading whole files, bounded. */
#ifndef BYRON_FILE_H
#define BYRON_FILE_H

#include "byron/status.h"

#include <stddef.h>

/* Read a whole file (at most max bytes, else BYRON_ELIMIT), NUL-terminated;
 * len may be NULL. Caller frees *out. */
byron_status_t byron_file_read(const char *path, size_t max, char **out, size_t *len, byron_err_t *err);

#endif
