/*
 * xcheck.c — prints what this engine makes of the graphql-js cross-check
 * cases, for xcheck.mjs to compare with graphql-js (see run.sh).
 *   xcheck sdl                      the test schema (tests/fixtures.c) as SDL
 *   xcheck validate < cases.jsonl   one JSON array of validation errors per query
 *   xcheck execute ROOT < cases     one response per {"q": query, "v": variables},
 *                                   default resolvers over the ROOT JSON file
 */
#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    byron_graphql_schema_t *s = fx_schema();
    json_object *root = argc > 2 ? json_object_from_file(argv[2]) : NULL;
    static char line[1 << 16];
    if (strcmp(mode, "sdl") == 0) {
        char *sdl = byron_graphql_schema_print(s);
        fputs(sdl, stdout);
        free(sdl);
    }
    while (strcmp(mode, "sdl") != 0 && fgets(line, sizeof(line), stdin)) {
        json_object *c = json_tokener_parse(line), *out = NULL;
        if (strcmp(mode, "validate") == 0) {
            out = fx_validate(s, json_object_get_string(c));
            if (out == NULL) out = json_object_new_array();
        } else {
            json_object *q = NULL, *v = NULL;
            json_object_object_get_ex(c, "q", &q);
            json_object_object_get_ex(c, "v", &v);
            byron_graphql_request_t req = {.root_value = root, .variables = v};
            byron_graphql_run(s, json_object_get_string(q), &req, &out);
        }
        puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
        json_object_put(out);
        json_object_put(c);
    }
    json_object_put(root);
    byron_graphql_schema_free(s);
    return 0;
}
