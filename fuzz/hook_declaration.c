/* hook_declaration.c — fuzz the validation of an app's hook declaration
 * (byron_app_hooks_parse, app_hooks.h): the answer to GET /v1/hooks decides
 * which hooks the sidecar calls. Must never crash or leak; an accepted
 * declaration holds at most BYRON_APP_HOOKS_MAX paths, and every path it
 * declares is one it was given. */
#include "app_hooks.h"
#include "byron/json.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_object *o = NULL;
    byron_err_t err = {0};
    if (byron_json_parse((const char *)data, size, 8, &o, &err) != BYRON_OK) return 0;
    byron_app_hooks_t *h = NULL;
    if (byron_app_hooks_parse(o, &h, &err) == BYRON_OK) {
        if (!h || byron_app_hooks_count(h) > BYRON_APP_HOOKS_MAX) abort();
        json_object *list = json_object_object_get(o, "hooks");
        for (size_t i = 0; i < json_object_array_length(list); i++)
            if (!byron_app_hooks_declares(h, json_object_get_string(json_object_array_get_idx(list, i))))
                abort();
        if (byron_app_hooks_declares(h, "/v1/health")) abort();
        byron_app_hooks_free(h);
    } else if (h || !err.msg[0]) {
        abort();
    }
    json_object_put(o);
    return 0;
}
