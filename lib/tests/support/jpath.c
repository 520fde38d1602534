/* jpath.c — see jpath.h. */
#include "jpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_object *at(json_object *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "|", &save); tok && o; tok = strtok_r(NULL, "|", &save)) {
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)strtoul(tok, NULL, 10));
        else if (!json_object_object_get_ex(o, tok, &o))
            return NULL;
    }
    return o;
}

const char *s_at(json_object *o, const char *path) {
    json_object *v = at(o, path);
    return v ? json_object_get_string(v) : "";
}
