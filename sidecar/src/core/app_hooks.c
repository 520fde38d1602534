/* app_hooks.c — an app's declared hooks: validated once, looked up per call
 * (a sorted array of paths, binary search). */
#include "app_hooks.h"

#include <stdlib.h>
#include <string.h>

struct byron_app_hooks {
    char **paths; /* sorted, unique */
    size_t n;
};

static int path_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '/';
}

/* Why path is not a hook path, or NULL. */
static const char *path_problem(const char *p, size_t len) {
    if (len > BYRON_APP_HOOKS_PATH_MAX) return "longer than 300 bytes";
    if (strncmp(p, "/v1/commands/", 13) != 0 && strncmp(p, "/v1/events/", 11) != 0)
        return "does not start with /v1/commands/ or /v1/events/";
    for (size_t i = 0; i < len; i++) {
        if (!path_char(p[i])) return "holds a character other than letters, digits, _ . - /";
        if (p[i] == '/' && (p[i + 1] == '/' || p[i + 1] == '\0')) return "has an empty segment";
    }
    return NULL;
}

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void byron_app_hooks_free(byron_app_hooks_t *h) {
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) free(h->paths[i]);
    free(h->paths);
    free(h);
}

/* Sorts and drops repeated paths. */
static void sort_unique(byron_app_hooks_t *h) {
    if (h->n < 2) return;
    qsort(h->paths, h->n, sizeof *h->paths, by_text);
    size_t k = 1;
    for (size_t i = 1; i < h->n; i++) {
        if (strcmp(h->paths[i], h->paths[k - 1]) == 0)
            free(h->paths[i]);
        else
            h->paths[k++] = h->paths[i];
    }
    h->n = k;
}

static byron_status_t check_shape(json_object *o, json_object **list, byron_err_t *err) {
    if (!json_object_is_type(o, json_type_object))
        return byron_err_set(err, BYRON_EINVAL, "hooks declaration: must be a JSON object");
    json_object_object_foreach(o, k, v) {
        (void)v;
        if (strcmp(k, "hooks") != 0)
            return byron_err_set(err, BYRON_EINVAL, "hooks declaration.%.64s: unknown field", k);
    }
    if (!json_object_object_get_ex(o, "hooks", list) || !json_object_is_type(*list, json_type_array))
        return byron_err_set(err, BYRON_EINVAL, "hooks declaration.hooks: must be an array of paths");
    if (json_object_array_length(*list) > BYRON_APP_HOOKS_MAX)
        return byron_err_set(err, BYRON_EINVAL, "hooks declaration.hooks: more than %d paths",
                             BYRON_APP_HOOKS_MAX);
    return BYRON_OK;
}

byron_status_t byron_app_hooks_parse(json_object *o, byron_app_hooks_t **out, byron_err_t *err) {
    *out = NULL;
    json_object *list = NULL;
    byron_status_t st = check_shape(o, &list, err);
    if (st != BYRON_OK) return st;
    size_t n = json_object_array_length(list);
    byron_app_hooks_t *h = calloc(1, sizeof *h);
    if (!h || (n && !(h->paths = calloc(n, sizeof *h->paths)))) {
        free(h);
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(list, i);
        const char *why = NULL;
        if (!json_object_is_type(e, json_type_string))
            why = "must be a string";
        else
            why = path_problem(json_object_get_string(e), (size_t)json_object_get_string_len(e));
        if (why) {
            byron_app_hooks_free(h);
            return byron_err_set(err, BYRON_EINVAL, "hooks declaration.hooks[%zu]: %s", i, why);
        }
        if (!(h->paths[h->n] = strdup(json_object_get_string(e)))) {
            byron_app_hooks_free(h);
            return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        }
        h->n++;
    }
    sort_unique(h);
    *out = h;
    return BYRON_OK;
}

int byron_app_hooks_declares(const byron_app_hooks_t *h, const char *path) {
    return h->n && bsearch(&path, h->paths, h->n, sizeof *h->paths, by_text) != NULL;
}

size_t byron_app_hooks_count(const byron_app_hooks_t *h) { return h->n; }
