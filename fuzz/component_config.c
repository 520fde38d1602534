/* component_config.c — fuzz the component config parser and validator
 * (sidecar/src/core/component.c): arbitrary JSON must be accepted cleanly or rejected
 * with a message, and an accepted component must render as metadata and make
 * a GraphQL schema or be refused with a message (component_schema.c). */
#include "byron/json.h"
#include "component.h"
#include "component_schema.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_object *root = NULL;
    byron_err_t err;
    if (byron_json_parse((const char *)data, size, 32, &root, &err) != BYRON_OK) return 0;
    byron_component_t *c = NULL;
    if (byron_component_parse(root, &c, &err) == BYRON_OK) {
        json_object_put(byron_component_to_json(c));
        byron_command_ref_t ref;
        for (size_t i = 0; i < c->ncommands; i++) byron_component_command(c, c->commands[i].name, &ref);
        byron_graphql_schema_t *schema = NULL;
        if (byron_component_schema(c, &schema, &err) == BYRON_OK) byron_graphql_schema_free(schema);
        byron_component_free(c);
    }
    json_object_put(root);
    return 0;
}
