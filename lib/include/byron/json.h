/* json.h — validated access to JSON from outside (config, requests, peers).
 *
 * Every getter takes the path of the object it reads ("spec.models[2]") so the
 * error names the exact field: "spec.models[2].name: must be a string". The
 * BYRON_JSON_OPTIONAL flag turns "missing" into success with *out untouched. */
#ifndef BYRON_JSON_H
#define BYRON_JSON_H

#include "byron/status.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define BYRON_JSON_REQUIRED 0
#define BYRON_JSON_OPTIONAL 1

/* Parse exactly one JSON value from buf[0..len), nesting at most max_depth
 * (0: 64). Trailing non-space bytes are an error. *out is owned by the caller
 * (json_object_put). */
byron_status_t byron_json_parse(const char *buf, size_t len, int max_depth, json_object **out,
                                byron_err_t *err);

/* Read and parse a whole file of at most max_bytes. */
byron_status_t byron_json_parse_file(const char *path, size_t max_bytes, json_object **out, byron_err_t *err);

byron_status_t byron_json_get_object(json_object *obj, const char *path, const char *key, int flags,
                                     json_object **out, byron_err_t *err);
byron_status_t byron_json_get_array(json_object *obj, const char *path, const char *key, int flags,
                                    json_object **out, byron_err_t *err);
/* *out points into obj: valid while obj lives. */
byron_status_t byron_json_get_string(json_object *obj, const char *path, const char *key, int flags,
                                     const char **out, byron_err_t *err);
/* Integers must be JSON integers within [min, max]. */
byron_status_t byron_json_get_int(json_object *obj, const char *path, const char *key, int flags, int64_t min,
                                  int64_t max, int64_t *out, byron_err_t *err);
byron_status_t byron_json_get_bool(json_object *obj, const char *path, const char *key, int flags, int *out,
                                   byron_err_t *err);

/* EINVAL "path.key: unknown field" for the first key of obj outside allowed
 * (NULL-terminated): config refuses what it would silently ignore. */
byron_status_t byron_json_check_keys(json_object *obj, const char *path, const char *const *allowed,
                                     byron_err_t *err);

/* obj's member key when it is a string (pointing into obj), else NULL: for
 * arguments a schema has already typed (GraphQL), where absent means absent. */
const char *byron_json_string_or_null(json_object *obj, const char *key);

/* Frees a list of n strings read from a JSON array, and the list (NULL: nothing). */
void byron_json_strings_free(char **v, size_t n);

/* Serialize compactly; the returned string is owned by obj (json-c semantics). */
const char *byron_json_compact(json_object *obj);

/* Convenience: a new string/int object, or NULL for a NULL string. */
json_object *byron_json_str(const char *s);

#endif
