/* component.c — parse and validate the component config (docs/component-spec.md).
 *
 * Two passes: the first collects enum and model names, the second resolves
 * every field type against them, so a field may name a model declared later.
 * Every error carries the JSON path of the field at fault. Unknown keys are
 * errors too: a typo ("requird") silently ignored is a bug shipped. */
#include "component.h"

#include "access.h"
#include "byron/json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTITIONS 4096
#define MAX_ITEMS 1024

int byron_name_is_type(const char *s) {
    if (!s || !isupper((unsigned char)s[0])) return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) || !isascii((unsigned char)*p)) return 0;
    return strlen(s) <= 128;
}

int byron_name_is_field(const char *s) {
    if (!s || !islower((unsigned char)s[0])) return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) || !isascii((unsigned char)*p)) return 0;
    return strlen(s) <= 128;
}

int byron_name_is_enum_value(const char *s) {
    if (!s || !isupper((unsigned char)s[0])) return 0;
    for (const char *p = s; *p; p++)
        if (!(isupper((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')) return 0;
    return strlen(s) <= 128;
}

int byron_id_is_valid(const char *s) {
    if (!s) return 0;
    size_t n = 0;
    for (const char *p = s; *p; p++, n++)
        if (!(isascii((unsigned char)*p) && (isalnum((unsigned char)*p) || *p == '_' || *p == '-'))) return 0;
    return n >= 1 && n <= BYRON_ID_MAX;
}

/* Kubernetes names (RFC 1123 label): they end up in subjects and stream names. */
static int is_dns_label(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-') return 0;
    for (const char *p = s; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-')) return 0;
    return 1;
}

static int digits(const char *s, int n) {
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

int byron_datetime_is_valid(const char *s) {
    /* YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM) */
    if (!s || strlen(s) < 20) return 0;
    if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
        s[16] != ':' || !digits(s + 17, 2))
        return 0;
    /* digits() checked every field: strtol cannot fail on them. */
    long mon = strtol(s + 5, NULL, 10), day = strtol(s + 8, NULL, 10), h = strtol(s + 11, NULL, 10),
         mi = strtol(s + 14, NULL, 10), sec = strtol(s + 17, NULL, 10);
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60) return 0;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p)) p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') return 1;
    if ((*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2) && p[6] == '\0')
        return strtol(p + 1, NULL, 10) <= 23 && strtol(p + 4, NULL, 10) <= 59;
    return 0;
}

static byron_status_t get_array_len(json_object *obj, const char *path, const char *key, json_object **arr,
                                    size_t *n, byron_err_t *err) {
    *arr = NULL;
    *n = 0;
    byron_status_t st = byron_json_get_array(obj, path, key, BYRON_JSON_OPTIONAL, arr, err);
    if (st != BYRON_OK) return st;
    if (*arr) *n = json_object_array_length(*arr);
    if (*n > MAX_ITEMS)
        return byron_err_set(err, BYRON_ELIMIT, "%s%s%s: more than %d items", path, *path ? "." : "", key,
                             MAX_ITEMS);
    return BYRON_OK;
}

/* An array of strings, each checked by valid(); duplicates are errors. */
static byron_status_t parse_names(json_object *obj, const char *path, const char *key,
                                  int (*valid)(const char *), const char *what, char ***out, size_t *nout,
                                  byron_err_t *err) {
    json_object *arr;
    size_t n;
    byron_status_t st = get_array_len(obj, path, key, &arr, &n, err);
    if (st != BYRON_OK) return st;
    if (n == 0) return BYRON_OK;
    if (!(*out = calloc(n, sizeof **out))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_string))
            return byron_err_set(err, BYRON_EINVAL, "%s.%s[%zu]: must be a string", path, key, i);
        const char *s = json_object_get_string(v);
        if (!valid(s))
            return byron_err_set(err, BYRON_EINVAL, "%s.%s[%zu]: \"%s\" is not a valid %s", path, key, i, s,
                                 what);
        for (size_t j = 0; j < *nout; j++)
            if (strcmp((*out)[j], s) == 0)
                return byron_err_set(err, BYRON_EINVAL, "%s.%s[%zu]: duplicate \"%s\"", path, key, i, s);
        if (!((*out)[(*nout)++] = strdup(s))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    return BYRON_OK;
}

static const char *const FIELD_KEYS[] = {"name",    "type",   "required",    "list",
                                         "indexed", "unique", "description", NULL};

static const struct {
    const char *name;
    byron_type_kind_t kind;
} SCALARS[] = {{"ID", BYRON_TYPE_ID},           {"String", BYRON_TYPE_STRING},
               {"Int", BYRON_TYPE_INT},         {"Float", BYRON_TYPE_FLOAT},
               {"Boolean", BYRON_TYPE_BOOLEAN}, {"DateTime", BYRON_TYPE_DATETIME},
               {"JSON", BYRON_TYPE_JSON}};

/* Resolve a declared type name against scalars, enums and models. */
static byron_status_t resolve_type(const byron_component_t *c, byron_field_t *f, const char *path,
                                   byron_err_t *err) {
    for (size_t i = 0; i < sizeof SCALARS / sizeof SCALARS[0]; i++)
        if (strcmp(SCALARS[i].name, f->type_name) == 0) {
            f->kind = SCALARS[i].kind;
            return BYRON_OK;
        }
    for (size_t i = 0; i < c->nenums; i++)
        if (strcmp(c->enums[i].name, f->type_name) == 0) {
            f->kind = BYRON_TYPE_ENUM;
            f->enum_def = &c->enums[i];
            return BYRON_OK;
        }
    for (size_t i = 0; i < c->nmodels; i++)
        if (strcmp(c->models[i].name, f->type_name) == 0) {
            f->kind = BYRON_TYPE_MODEL;
            f->model_ref = &c->models[i];
            return BYRON_OK;
        }
    return byron_err_set(err, BYRON_EINVAL, "%s.type: unknown type \"%s\"", path, f->type_name);
}

static byron_status_t parse_fields(const byron_component_t *c, json_object *obj, const char *path,
                                   const char *key, byron_field_t **out, size_t *nout, byron_err_t *err) {
    json_object *arr;
    size_t n;
    byron_status_t st = get_array_len(obj, path, key, &arr, &n, err);
    if (st != BYRON_OK || n == 0) return st;
    if (n > BYRON_FIELDS_MAX)
        return byron_err_set(err, BYRON_EINVAL, "%s.%s: %zu fields, at most %d", path, key, n,
                             BYRON_FIELDS_MAX);
    if (!(*out = calloc(n, sizeof **out))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char fp[256];
        snprintf(fp, sizeof fp, "%s.%s[%zu]", path, key, i);
        json_object *fo = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(fo, json_type_object))
            return byron_err_set(err, BYRON_EINVAL, "%s: must be an object", fp);
        if ((st = byron_json_check_keys(fo, fp, FIELD_KEYS, err)) != BYRON_OK) return st;
        byron_field_t *f = &(*out)[*nout];
        (*nout)++;
        const char *name, *type;
        if ((st = byron_json_get_string(fo, fp, "name", 0, &name, err)) != BYRON_OK) return st;
        if (!(f->name = strdup(name))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        if (!byron_name_is_field(name))
            return byron_err_set(err, BYRON_EINVAL, "%s.name: \"%s\" must match ^[a-z][A-Za-z0-9]*$", fp,
                                 name);
        if (strcmp(name, "id") == 0 || strcmp(name, "version") == 0)
            return byron_err_set(err, BYRON_EINVAL, "%s.name: \"%s\" is implicit and may not be declared", fp,
                                 name);
        for (size_t j = 0; j + 1 < *nout; j++)
            if (strcmp((*out)[j].name, name) == 0)
                return byron_err_set(err, BYRON_EINVAL, "%s.name: duplicate field \"%s\"", fp, name);
        if ((st = byron_json_get_string(fo, fp, "type", 0, &type, err)) != BYRON_OK) return st;
        if (!(f->type_name = strdup(type))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        if ((st = byron_json_get_bool(fo, fp, "required", BYRON_JSON_OPTIONAL, &f->required, err)) ||
            (st = byron_json_get_bool(fo, fp, "list", BYRON_JSON_OPTIONAL, &f->list, err)) ||
            (st = byron_json_get_bool(fo, fp, "indexed", BYRON_JSON_OPTIONAL, &f->indexed, err)) ||
            (st = byron_json_get_bool(fo, fp, "unique", BYRON_JSON_OPTIONAL, &f->unique, err)))
            return st;
        if (f->unique) f->indexed = 1;
        if ((st = resolve_type(c, f, fp, err)) != BYRON_OK) return st;
        if (f->indexed && (f->list || f->kind == BYRON_TYPE_JSON))
            return byron_err_set(err, BYRON_EINVAL, "%s.indexed: a %s field cannot be indexed", fp,
                                 f->list ? "list" : "JSON");
    }
    return BYRON_OK;
}

static void free_fields(byron_field_t *f, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(f[i].name);
        free(f[i].type_name);
    }
    free(f);
}

void byron_component_free(byron_component_t *c) {
    if (!c) return;
    for (size_t i = 0; i < c->nenums; i++) {
        free(c->enums[i].name);
        byron_json_strings_free(c->enums[i].values, c->enums[i].nvalues);
    }
    free(c->enums);
    for (size_t i = 0; i < c->nmodels; i++) {
        free(c->models[i].name);
        free_fields(c->models[i].fields, c->models[i].nfields);
    }
    free(c->models);
    for (size_t i = 0; i < c->ncommands; i++) {
        free(c->commands[i].name);
        free(c->commands[i].model_name);
        free_fields(c->commands[i].input, c->commands[i].ninput);
        byron_json_strings_free(c->commands[i].emits, c->commands[i].nemits);
    }
    free(c->commands);
    for (size_t i = 0; i < c->nsubscriptions; i++) {
        free(c->subscriptions[i].component);
        free(c->subscriptions[i].namespace_);
        byron_json_strings_free(c->subscriptions[i].events, c->subscriptions[i].nevents);
    }
    free(c->subscriptions);
    free(c->api_version);
    free(c->component);
    free(c->namespace_);
    free(c->stream);
    free(c->subject_prefix);
    free(c->source);
    byron_access_free(c->access);
    free(c);
}

/* Is `name` taken by an enum or model already in c? */
static int type_name_taken(const byron_component_t *c, const char *name) {
    for (size_t i = 0; i < c->nenums; i++)
        if (strcmp(c->enums[i].name, name) == 0) return 1;
    for (size_t i = 0; i < c->nmodels; i++)
        if (c->models[i].name && strcmp(c->models[i].name, name) == 0) return 1;
    for (size_t i = 0; i < sizeof SCALARS / sizeof SCALARS[0]; i++)
        if (strcmp(SCALARS[i].name, name) == 0) return 1;
    return 0;
}

static byron_status_t parse_enums(byron_component_t *c, json_object *root, byron_err_t *err) {
    static const char *const KEYS[] = {"name", "values", "description", NULL};
    json_object *arr;
    size_t n;
    byron_status_t st = get_array_len(root, "", "enums", &arr, &n, err);
    if (st != BYRON_OK || n == 0) return st;
    if (!(c->enums = calloc(n, sizeof *c->enums))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "enums[%zu]", i);
        json_object *eo = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(eo, json_type_object))
            return byron_err_set(err, BYRON_EINVAL, "%s: must be an object", p);
        if ((st = byron_json_check_keys(eo, p, KEYS, err)) != BYRON_OK) return st;
        const char *name;
        if ((st = byron_json_get_string(eo, p, "name", 0, &name, err)) != BYRON_OK) return st;
        if (!byron_name_is_type(name))
            return byron_err_set(err, BYRON_EINVAL, "%s.name: \"%s\" must match ^[A-Z][A-Za-z0-9]*$", p,
                                 name);
        if (type_name_taken(c, name))
            return byron_err_set(err, BYRON_EINVAL, "%s.name: \"%s\" is already a type", p, name);
        byron_enum_t *e = &c->enums[c->nenums++];
        if (!(e->name = strdup(name))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        if ((st = parse_names(eo, p, "values", byron_name_is_enum_value, "enum value (^[A-Z][A-Z0-9_]*$)",
                              &e->values, &e->nvalues, err)) != BYRON_OK)
            return st;
        if (e->nvalues == 0) return byron_err_set(err, BYRON_EINVAL, "%s.values: must not be empty", p);
    }
    return BYRON_OK;
}

static byron_status_t parse_models(byron_component_t *c, json_object *root, byron_err_t *err) {
    static const char *const KEYS[] = {"name", "fields", "description", "indexes", NULL};
    json_object *arr;
    size_t n;
    byron_status_t st = get_array_len(root, "", "models", &arr, &n, err);
    if (st != BYRON_OK || n == 0) return st;
    if (!(c->models = calloc(n, sizeof *c->models))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    /* Pass 1: names, so fields can reference any model. */
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "models[%zu]", i);
        json_object *mo = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(mo, json_type_object))
            return byron_err_set(err, BYRON_EINVAL, "%s: must be an object", p);
        if ((st = byron_json_check_keys(mo, p, KEYS, err)) != BYRON_OK) return st;
        const char *name;
        if ((st = byron_json_get_string(mo, p, "name", 0, &name, err)) != BYRON_OK) return st;
        if (!byron_name_is_type(name))
            return byron_err_set(err, BYRON_EINVAL, "%s.name: \"%s\" must match ^[A-Z][A-Za-z0-9]*$", p,
                                 name);
        if (type_name_taken(c, name))
            return byron_err_set(err, BYRON_EINVAL, "%s.name: \"%s\" is already a type", p, name);
        if (!(c->models[i].name = strdup(name))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        c->nmodels = i + 1;
    }
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "models[%zu]", i);
        if ((st = parse_fields(c, json_object_array_get_idx(arr, i), p, "fields", &c->models[i].fields,
                               &c->models[i].nfields, err)) != BYRON_OK)
            return st;
    }
    return BYRON_OK;
}

static int is_generated_name(const byron_component_t *c, const char *name) {
    static const char *const PREFIXES[] = {"create", "update", "delete"};
    for (size_t p = 0; p < 3; p++) {
        size_t n = strlen(PREFIXES[p]);
        if (strncmp(name, PREFIXES[p], n) == 0 && byron_component_model(c, name + n)) return 1;
    }
    return 0;
}

static byron_status_t parse_commands(byron_component_t *c, json_object *root, byron_err_t *err) {
    static const char *const KEYS[] = {"name", "model", "input", "emits", "description", NULL};
    json_object *arr;
    size_t n;
    byron_status_t st = get_array_len(root, "", "commands", &arr, &n, err);
    if (st != BYRON_OK || n == 0) return st;
    if (!(c->commands = calloc(n, sizeof *c->commands)))
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "commands[%zu]", i);
        json_object *co = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(co, json_type_object))
            return byron_err_set(err, BYRON_EINVAL, "%s: must be an object", p);
        if ((st = byron_json_check_keys(co, p, KEYS, err)) != BYRON_OK) return st;
        byron_command_def_t *d = &c->commands[c->ncommands++];
        const char *name, *model;
        if ((st = byron_json_get_string(co, p, "name", 0, &name, err)) != BYRON_OK) return st;
        if (!byron_name_is_field(name))
            return byron_err_set(err, BYRON_EINVAL, "%s.name: \"%s\" must match ^[a-z][A-Za-z0-9]*$", p,
                                 name);
        if (is_generated_name(c, name))
            return byron_err_set(err, BYRON_EINVAL, "%s.name: \"%s\" is a generated command", p, name);
        for (size_t j = 0; j + 1 < c->ncommands; j++)
            if (strcmp(c->commands[j].name, name) == 0)
                return byron_err_set(err, BYRON_EINVAL, "%s.name: duplicate command \"%s\"", p, name);
        if (!(d->name = strdup(name))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        if ((st = byron_json_get_string(co, p, "model", 0, &model, err)) != BYRON_OK) return st;
        if (!(d->model = byron_component_model(c, model)))
            return byron_err_set(err, BYRON_EINVAL, "%s.model: unknown model \"%s\"", p, model);
        if (!(d->model_name = strdup(model))) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        if ((st = parse_fields(c, co, p, "input", &d->input, &d->ninput, err)) != BYRON_OK) return st;
        if ((st = parse_names(co, p, "emits", byron_name_is_type, "event type (^[A-Z][A-Za-z0-9]*$)",
                              &d->emits, &d->nemits, err)) != BYRON_OK)
            return st;
        if (d->nemits == 0)
            return byron_err_set(err, BYRON_EINVAL, "%s.emits: must name at least one event type", p);
    }
    return BYRON_OK;
}

static byron_status_t parse_subscriptions(byron_component_t *c, json_object *root, byron_err_t *err) {
    static const char *const KEYS[] = {"component", "namespace", "events", NULL};
    json_object *arr;
    size_t n;
    byron_status_t st = get_array_len(root, "", "subscriptions", &arr, &n, err);
    if (st != BYRON_OK || n == 0) return st;
    if (!(c->subscriptions = calloc(n, sizeof *c->subscriptions)))
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "subscriptions[%zu]", i);
        json_object *so = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(so, json_type_object))
            return byron_err_set(err, BYRON_EINVAL, "%s: must be an object", p);
        if ((st = byron_json_check_keys(so, p, KEYS, err)) != BYRON_OK) return st;
        byron_subscription_t *s = &c->subscriptions[c->nsubscriptions++];
        const char *comp, *ns = c->namespace_;
        if ((st = byron_json_get_string(so, p, "component", 0, &comp, err)) != BYRON_OK) return st;
        if (!is_dns_label(comp))
            return byron_err_set(err, BYRON_EINVAL, "%s.component: \"%s\" is not a DNS label", p, comp);
        if ((st = byron_json_get_string(so, p, "namespace", BYRON_JSON_OPTIONAL, &ns, err)) != BYRON_OK)
            return st;
        if (!is_dns_label(ns))
            return byron_err_set(err, BYRON_EINVAL, "%s.namespace: \"%s\" is not a DNS label", p, ns);
        /* Lanes of one component share one durable consumer: a second subscription
         * would split its events between two filters and drop some silently. */
        for (size_t j = 0; j + 1 < c->nsubscriptions; j++)
            if (!strcmp(c->subscriptions[j].component, comp) && !strcmp(c->subscriptions[j].namespace_, ns))
                return byron_err_set(err, BYRON_EINVAL,
                                     "%s: duplicate subscription to %s/%s (one per component: list all its "
                                     "event types in one)",
                                     p, ns, comp);
        if (!(s->component = strdup(comp)) || !(s->namespace_ = strdup(ns)))
            return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        if ((st = parse_names(so, p, "events", byron_name_is_type, "event type", &s->events, &s->nevents,
                              err)))
            return st;
    }
    return BYRON_OK;
}

static char *str_printf(const char *fmt, const char *a, const char *b) {
    int n = snprintf(NULL, 0, fmt, a, b);
    char *s = malloc((size_t)n + 1);
    if (s) snprintf(s, (size_t)n + 1, fmt, a, b);
    return s;
}

byron_status_t byron_component_parse(json_object *root, byron_component_t **out, byron_err_t *err) {
    static const char *const KEYS[] = {"apiVersion", "component",        "namespace", "partitions",
                                       "enums",      "models",           "commands",  "subscriptions",
                                       "auth",       "schemaGeneration", NULL};
    *out = NULL;
    if (!json_object_is_type(root, json_type_object))
        return byron_err_set(err, BYRON_EINVAL, "component config: must be a JSON object");
    byron_component_t *c = calloc(1, sizeof *c);
    if (!c) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    byron_status_t st;
    const char *api = "byron.io/v1alpha1", *comp, *ns;
    int64_t partitions = 1, generation = 0;
    if ((st = byron_json_check_keys(root, "", KEYS, err)) != BYRON_OK) goto err;
    if ((st = byron_json_get_string(root, "", "apiVersion", BYRON_JSON_OPTIONAL, &api, err)) != BYRON_OK)
        goto err;
    if (strcmp(api, "byron.io/v1alpha1") != 0) {
        st = byron_err_set(err, BYRON_EINVAL, "apiVersion: \"%s\" is not supported (want byron.io/v1alpha1)",
                           api);
        goto err;
    }
    if ((st = byron_json_get_string(root, "", "component", 0, &comp, err)) != BYRON_OK) goto err;
    if (!is_dns_label(comp)) {
        st = byron_err_set(err, BYRON_EINVAL, "component: \"%s\" is not a DNS label", comp);
        goto err;
    }
    if ((st = byron_json_get_string(root, "", "namespace", 0, &ns, err)) != BYRON_OK) goto err;
    if (!is_dns_label(ns)) {
        st = byron_err_set(err, BYRON_EINVAL, "namespace: \"%s\" is not a DNS label", ns);
        goto err;
    }
    if ((st = byron_json_get_int(root, "", "partitions", BYRON_JSON_OPTIONAL, 1, MAX_PARTITIONS, &partitions,
                                 err)) != BYRON_OK)
        goto err;
    c->partitions = (int)partitions;
    if ((st = byron_json_get_int(root, "", "schemaGeneration", BYRON_JSON_OPTIONAL, 0, INT64_MAX, &generation,
                                 err)) != BYRON_OK)
        goto err;
    c->schema_generation = generation;
    if (!(c->api_version = strdup(api)) || !(c->component = strdup(comp)) || !(c->namespace_ = strdup(ns))) {
        st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
        goto err;
    }
    if ((st = parse_enums(c, root, err)) || (st = parse_models(c, root, err)) ||
        (st = parse_commands(c, root, err)) || (st = parse_subscriptions(c, root, err)))
        goto err;
    json_object *auth = NULL;
    json_object_object_get_ex(root, "auth", &auth);
    if ((st = byron_access_parse(c, auth, &c->access, err)) != BYRON_OK) goto err;
    c->stream = str_printf("BYRON_%s_%s", ns, comp);
    c->subject_prefix = str_printf("byron.%s.%s", ns, comp);
    c->source = str_printf("/byron/%s/%s", ns, comp);
    if (!c->stream || !c->subject_prefix || !c->source) {
        st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
        goto err;
    }
    for (char *p = c->stream; *p; p++)
        if (*p == '-') *p = '_';
    *out = c;
    return BYRON_OK;
err:
    byron_component_free(c);
    return st;
}

byron_status_t byron_component_load(const char *path, byron_component_t **out, byron_err_t *err) {
    json_object *root = NULL;
    byron_status_t st = byron_json_parse_file(path, BYRON_CONFIG_MAX_BYTES, &root, err);
    if (st != BYRON_OK) return st;
    st = byron_component_parse(root, out, err);
    json_object_put(root);
    if (st != BYRON_OK) byron_err_prefix(err, "%s", path);
    return st;
}

const byron_model_t *byron_component_model(const byron_component_t *c, const char *name) {
    for (size_t i = 0; i < c->nmodels; i++)
        if (c->models[i].name && strcmp(c->models[i].name, name) == 0) return &c->models[i];
    return NULL;
}

const byron_field_t *byron_model_field(const byron_model_t *m, const char *name) {
    for (size_t i = 0; i < m->nfields; i++)
        if (strcmp(m->fields[i].name, name) == 0) return &m->fields[i];
    return NULL;
}

byron_status_t byron_component_command(const byron_component_t *c, const char *name,
                                       byron_command_ref_t *out) {
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < c->ncommands; i++)
        if (strcmp(c->commands[i].name, name) == 0) {
            out->kind = BYRON_CMD_CUSTOM;
            out->custom = &c->commands[i];
            out->model = c->commands[i].model;
            return BYRON_OK;
        }
    static const struct {
        const char *prefix;
        byron_command_kind_t kind;
    } GEN[] = {{"create", BYRON_CMD_CREATE}, {"update", BYRON_CMD_UPDATE}, {"delete", BYRON_CMD_DELETE}};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(GEN[i].prefix);
        const byron_model_t *m;
        if (strncmp(name, GEN[i].prefix, n) == 0 && (m = byron_component_model(c, name + n))) {
            out->kind = GEN[i].kind;
            out->model = m;
            return BYRON_OK;
        }
    }
    return BYRON_ENOTFOUND;
}

/* A JSON field's value is stored as is in MongoDB documents: a key starting
 * with '$' would read as an operator there, one with '.' as a path into a
 * nested document. Refused at any depth (the parser bounds the depth). */
static byron_status_t json_keys_safe(json_object *v, const char *path, int depth, byron_err_t *err) {
    if (depth > 64) return byron_err_set(err, BYRON_EINVAL, "%s: nested deeper than 64 levels", path);
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            byron_status_t st = json_keys_safe(json_object_array_get_idx(v, i), path, depth + 1, err);
            if (st != BYRON_OK) return st;
        }
    } else if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, k, sub) {
            if (k[0] == '$' || strchr(k, '.'))
                return byron_err_set(
                    err, BYRON_EINVAL,
                    "%s: key \"%.64s\" may not start with '$' or contain '.' (JSON values are stored in "
                    "MongoDB)",
                    path, k);
            byron_status_t st = json_keys_safe(sub, path, depth + 1, err);
            if (st != BYRON_OK) return st;
        }
    }
    return BYRON_OK;
}

/* One value (not a list) against a field's type. */
static byron_status_t check_value(const byron_field_t *f, json_object *v, const char *path,
                                  byron_err_t *err) {
    json_type t = json_object_get_type(v);
    switch (f->kind) {
    case BYRON_TYPE_JSON: return json_keys_safe(v, path, 0, err);
    case BYRON_TYPE_STRING:
        if (t != json_type_string) break;
        return BYRON_OK;
    case BYRON_TYPE_ID:
    case BYRON_TYPE_MODEL:
        if (t != json_type_string) break;
        if (!byron_id_is_valid(json_object_get_string(v)))
            return byron_err_set(err, BYRON_EINVAL, "%s: \"%.64s\" is not a valid id ([A-Za-z0-9_-]{1,128})",
                                 path, json_object_get_string(v));
        return BYRON_OK;
    case BYRON_TYPE_INT: {
        if (t != json_type_int) break;
        int64_t i = json_object_get_int64(v);
        if (i < INT32_MIN || i > INT32_MAX)
            return byron_err_set(err, BYRON_EINVAL, "%s: %lld does not fit a 32-bit Int", path, (long long)i);
        return BYRON_OK;
    }
    case BYRON_TYPE_FLOAT:
        if (t != json_type_int && t != json_type_double) break;
        return BYRON_OK;
    case BYRON_TYPE_BOOLEAN:
        if (t != json_type_boolean) break;
        return BYRON_OK;
    case BYRON_TYPE_DATETIME:
        if (t != json_type_string) break;
        if (!byron_datetime_is_valid(json_object_get_string(v)))
            return byron_err_set(err, BYRON_EINVAL, "%s: \"%.64s\" is not an RFC 3339 date-time", path,
                                 json_object_get_string(v));
        return BYRON_OK;
    case BYRON_TYPE_ENUM:
        if (t != json_type_string) break;
        for (size_t i = 0; i < f->enum_def->nvalues; i++)
            if (strcmp(f->enum_def->values[i], json_object_get_string(v)) == 0) return BYRON_OK;
        return byron_err_set(err, BYRON_EINVAL, "%s: \"%.64s\" is not a value of %s", path,
                             json_object_get_string(v), f->enum_def->name);
    }
    return byron_err_set(err, BYRON_EINVAL, "%s: must be %s", path, f->type_name);
}

byron_status_t byron_input_validate(const byron_field_t *fields, size_t n, json_object *input, int partial,
                                    int allow_id, const char *path, byron_err_t *err) {
    if (!json_object_is_type(input, json_type_object))
        return byron_err_set(err, BYRON_EINVAL, "%s: must be an object", path);
    json_object_object_foreach(input, key, val) {
        char p[320];
        snprintf(p, sizeof p, "%s.%.128s", path, key);
        if (allow_id && strcmp(key, "id") == 0) {
            if (!json_object_is_type(val, json_type_string) ||
                !byron_id_is_valid(json_object_get_string(val)))
                return byron_err_set(err, BYRON_EINVAL, "%s: must be an id ([A-Za-z0-9_-]{1,128})", p);
            continue;
        }
        const byron_field_t *f = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(fields[i].name, key) == 0) f = &fields[i];
        if (!f) return byron_err_set(err, BYRON_EINVAL, "%s: unknown field", p);
        if (val == NULL) {
            if (f->required) return byron_err_set(err, BYRON_EINVAL, "%s: required, may not be null", p);
            continue;
        }
        if (f->list) {
            if (!json_object_is_type(val, json_type_array))
                return byron_err_set(err, BYRON_EINVAL, "%s: must be a list of %s", p, f->type_name);
            for (size_t i = 0; i < json_object_array_length(val); i++) {
                char ip[352];
                snprintf(ip, sizeof ip, "%s[%zu]", p, i);
                json_object *e = json_object_array_get_idx(val, i);
                if (!e) return byron_err_set(err, BYRON_EINVAL, "%s: may not be null", ip);
                byron_status_t st = check_value(f, e, ip, err);
                if (st != BYRON_OK) return st;
            }
        } else {
            byron_status_t st = check_value(f, val, p, err);
            if (st != BYRON_OK) return st;
        }
    }
    if (!partial)
        for (size_t i = 0; i < n; i++) {
            json_object *v = NULL;
            if (fields[i].required && (!json_object_object_get_ex(input, fields[i].name, &v) || !v))
                return byron_err_set(err, BYRON_EINVAL, "%s.%s: required", path, fields[i].name);
        }
    return BYRON_OK;
}

static json_object *fields_to_json(const byron_field_t *f, size_t n) {
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(f[i].name));
        json_object_object_add(o, "type", json_object_new_string(f[i].type_name));
        json_object_object_add(o, "required", json_object_new_boolean(f[i].required));
        json_object_object_add(o, "list", json_object_new_boolean(f[i].list));
        json_object_object_add(o, "indexed", json_object_new_boolean(f[i].indexed));
        json_object_object_add(o, "unique", json_object_new_boolean(f[i].unique));
        json_object_array_add(arr, o);
    }
    return arr;
}

static json_object *names_to_json(char **v, size_t n) {
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) json_object_array_add(arr, json_object_new_string(v[i]));
    return arr;
}

json_object *byron_component_to_json(const byron_component_t *c) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "apiVersion", json_object_new_string(c->api_version));
    json_object_object_add(o, "component", json_object_new_string(c->component));
    json_object_object_add(o, "namespace", json_object_new_string(c->namespace_));
    json_object_object_add(o, "partitions", json_object_new_int(c->partitions));
    json_object_object_add(o, "schemaGeneration", json_object_new_int64(c->schema_generation));
    json_object_object_add(o, "stream", json_object_new_string(c->stream));
    json_object_object_add(o, "subjectPrefix", json_object_new_string(c->subject_prefix));
    json_object_object_add(o, "source", json_object_new_string(c->source));
    json_object *enums = json_object_new_array();
    for (size_t i = 0; i < c->nenums; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(c->enums[i].name));
        json_object_object_add(e, "values", names_to_json(c->enums[i].values, c->enums[i].nvalues));
        json_object_array_add(enums, e);
    }
    json_object_object_add(o, "enums", enums);
    json_object *models = json_object_new_array();
    for (size_t i = 0; i < c->nmodels; i++) {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "name", json_object_new_string(c->models[i].name));
        json_object_object_add(m, "fields", fields_to_json(c->models[i].fields, c->models[i].nfields));
        json_object_array_add(models, m);
    }
    json_object_object_add(o, "models", models);
    json_object *cmds = json_object_new_array();
    for (size_t i = 0; i < c->ncommands; i++) {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "name", json_object_new_string(c->commands[i].name));
        json_object_object_add(m, "model", json_object_new_string(c->commands[i].model_name));
        json_object_object_add(m, "input", fields_to_json(c->commands[i].input, c->commands[i].ninput));
        json_object_object_add(m, "emits", names_to_json(c->commands[i].emits, c->commands[i].nemits));
        json_object_array_add(cmds, m);
    }
    json_object_object_add(o, "commands", cmds);
    json_object *subs = json_object_new_array();
    for (size_t i = 0; i < c->nsubscriptions; i++) {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "component", json_object_new_string(c->subscriptions[i].component));
        json_object_object_add(m, "namespace", json_object_new_string(c->subscriptions[i].namespace_));
        json_object_object_add(m, "events",
                               names_to_json(c->subscriptions[i].events, c->subscriptions[i].nevents));
        json_object_array_add(subs, m);
    }
    json_object_object_add(o, "subscriptions", subs);
    return o;
}
