/* yaml.h — a YAML document as JSON (libyaml → json-c). */
#ifndef BYRON_YAML_H
#define BYRON_YAML_H

#include "byron/status.h"

#include <json-c/json.h>
#include <stddef.h>

/* Parse the first YAML document (a mapping) into JSON. Plain true/false
 * become booleans, null/~ nulls; with typed, plain numbers become numbers
 * (manifests), else they stay strings (kubeconfig). Nesting deeper than 64
 * levels is cut off. */
byron_status_t byron_yaml_parse(const char *buf, size_t len, int typed, json_object **out, byron_err_t *err);

#endif
