/* yaml.c — a YAML document (libyaml) as json-c: kubeconfigs, manifests and
 * the CRD. Scalars stay strings except plain true/false and nulls (and, when
 * typed, numbers); aliases are bounded by depth, not followed forever. */
#include "byron/yaml.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* A plain scalar that is a YAML 1.2 core-schema integer or float. */
static json_object *number(const char *v) {
    char *end;
    if (!*v) return NULL;
    long long i = strtoll(v, &end, 10);
    if (!*end && (isdigit((unsigned char)v[0]) || v[0] == '-')) return json_object_new_int64(i);
    double d = strtod(v, &end);
    if (!*end && strpbrk(v, ".eE") && (isdigit((unsigned char)v[0]) || v[0] == '-' || v[0] == '.'))
        return json_object_new_double(d);
    return NULL;
}

static json_object *yaml_to_json(yaml_document_t *doc, yaml_node_t *n, int depth, int typed) {
    if (!n || depth > 64) return NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char *v = (const char *)n->data.scalar.value;
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
            if (!strcmp(v, "true")) return json_object_new_boolean(1);
            if (!strcmp(v, "false")) return json_object_new_boolean(0);
            if (!strcmp(v, "null") || !strcmp(v, "~") || !*v) return NULL;
            json_object *num = typed ? number(v) : NULL;
            if (num) return num;
        }
        return json_object_new_string_len(v, (int)n->data.scalar.length);
    }
    case YAML_SEQUENCE_NODE: {
        json_object *a = json_object_new_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
            json_object_array_add(a, yaml_to_json(doc, yaml_document_get_node(doc, *i), depth + 1, typed));
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_object *o = json_object_new_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE) continue;
            json_object_object_add(
                o, (const char *)k->data.scalar.value,
                yaml_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1, typed));
        }
        return o;
    }
    default: return NULL;
    }
}

byron_status_t byron_yaml_parse(const char *buf, size_t len, int typed, json_object **out, byron_err_t *err) {
    yaml_parser_t p;
    yaml_document_t doc;
    *out = NULL;
    if (!yaml_parser_initialize(&p)) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&p, &doc)) {
        byron_status_t st = byron_err_set(err, BYRON_EINVAL, "invalid YAML at line %zu: %s",
                                          p.problem_mark.line + 1, p.problem ? p.problem : "parse error");
        yaml_parser_delete(&p);
        return st;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_MAPPING_NODE) *out = yaml_to_json(&doc, root, 0, typed);
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    if (!*out) return byron_err_set(err, BYRON_EINVAL, "the YAML document must be a mapping");
    return BYRON_OK;
}
