/* jpath.h — test helper (lib/tests/support): walk a json-c tree by a "|"-separated path
 * ("spec|template|spec|containers|0|name"; "|" because label keys hold dots). */
#ifndef BYRON_TEST_JPATH_H
#define BYRON_TEST_JPATH_H

#include <json-c/json.h>

/* The node at path, NULL when absent. */
json_object *at(json_object *o, const char *path);
/* Its string form, "" when absent (never NULL). */
const char *s_at(json_object *o, const char *path);

#endif
