/* component.h — the component config (docs/component-spec.md) as the sidecar
 * reads it: parsed, validated, with every type name resolved.
 *
 * Shared by the sidecar and the GraphQL schema generator: both read the same
 * byron_component_t. Loading fails with the path of the first bad field
 * ("models[1].fields[0].type: unknown type \"Strin\""). A loaded component is
 * immutable and may be read from any thread. */
#ifndef BYRON_SIDECAR_COMPONENT_H
#define BYRON_SIDECAR_COMPONENT_H

#include "byron/status.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define BYRON_ID_MAX 128 /* ids: [A-Za-z0-9_-]{1,128} */
#define BYRON_CONFIG_MAX_BYTES (4u << 20)
#define BYRON_FIELDS_MAX 64 /* per model and per command input (the CRD's maxItems) */

typedef enum {
    BYRON_TYPE_ID,
    BYRON_TYPE_STRING,
    BYRON_TYPE_INT,
    BYRON_TYPE_FLOAT,
    BYRON_TYPE_BOOLEAN,
    BYRON_TYPE_DATETIME,
    BYRON_TYPE_JSON,
    BYRON_TYPE_ENUM,  /* field->enum_def is set */
    BYRON_TYPE_MODEL, /* field->model_ref is set; stored as the id(s) */
} byron_type_kind_t;

struct byron_access;

typedef struct byron_enum {
    char *name;
    char **values;
    size_t nvalues;
} byron_enum_t;

struct byron_model;

typedef struct byron_field {
    char *name;
    char *type_name; /* as declared: "String", "OrderStatus", "OrderLine" */
    byron_type_kind_t kind;
    int required, list, indexed, unique;
    const byron_enum_t *enum_def;        /* BYRON_TYPE_ENUM */
    const struct byron_model *model_ref; /* BYRON_TYPE_MODEL */
} byron_field_t;

typedef struct byron_model {
    char *name;
    byron_field_t *fields;
    size_t nfields;
} byron_model_t;

typedef struct byron_command_def {
    char *name;
    char *model_name;
    const byron_model_t *model;
    byron_field_t *input;
    size_t ninput;
    char **emits;
    size_t nemits;
} byron_command_def_t;

typedef struct byron_subscription {
    char *component;
    char *namespace_; /* defaults to the component's namespace */
    char **events;    /* empty: all events */
    size_t nevents;
} byron_subscription_t;

typedef struct byron_component {
    char *api_version;
    char *component;
    char *namespace_;
    int partitions;
    /* Which revision of the models this config is (0: unknown). The operator
     * raises it whenever models, enums or commands change; events carry the
     * revision they were written under (byrongeneration), so a sink can tell
     * an event of a newer model, which it defers, from a bad one
     * (docs/evolution.md). */
    int64_t schema_generation;
    byron_enum_t *enums;
    size_t nenums;
    byron_model_t *models;
    size_t nmodels;
    byron_command_def_t *commands; /* custom commands only */
    size_t ncommands;
    byron_subscription_t *subscriptions;
    size_t nsubscriptions;
    /* Derived names (docs/component-spec.md, "Subjects and streams"). */
    char *stream;         /* BYRON_<ns>_<component>, '-' → '_' */
    char *subject_prefix; /* byron.<ns>.<component> */
    char *source;         /* CloudEvents source: /byron/<ns>/<component> */
    /* Who may do what (`auth`; access.h): never NULL once parsed — without
     * `auth` the policy grants nothing to clients (the app keeps everything). */
    struct byron_access *access;
} byron_component_t;

/* What a command name resolves to. */
typedef enum {
    BYRON_CMD_CREATE,
    BYRON_CMD_UPDATE,
    BYRON_CMD_DELETE,
    BYRON_CMD_CUSTOM,
} byron_command_kind_t;

typedef struct byron_command_ref {
    byron_command_kind_t kind;
    const byron_model_t *model;
    const byron_command_def_t *custom; /* BYRON_CMD_CUSTOM only */
} byron_command_ref_t;

/* Parse and validate; *out is freed with byron_component_free. */
byron_status_t byron_component_parse(json_object *root, byron_component_t **out, byron_err_t *err);
byron_status_t byron_component_load(const char *path, byron_component_t **out, byron_err_t *err);
void byron_component_free(byron_component_t *c);

const byron_model_t *byron_component_model(const byron_component_t *c, const char *name);
const byron_field_t *byron_model_field(const byron_model_t *m, const char *name);
/* createM / updateM / deleteM or a custom command; BYRON_ENOTFOUND if none. */
byron_status_t byron_component_command(const byron_component_t *c, const char *name,
                                       byron_command_ref_t *out);

/* Name checks from the contract. */
int byron_name_is_type(const char *s);       /* ^[A-Z][A-Za-z0-9]*$ */
int byron_name_is_field(const char *s);      /* ^[a-z][A-Za-z0-9]*$ */
int byron_name_is_enum_value(const char *s); /* ^[A-Z][A-Z0-9_]*$ */
int byron_id_is_valid(const char *s);        /* ^[A-Za-z0-9_-]{1,128}$ */
/* RFC 3339 date-time ("2026-11-26T06:40:00Z", fractional seconds and offsets allowed). */
int byron_datetime_is_valid(const char *s);

/* Validate a command input object against fields[0..n). partial: every field
 * optional (update); otherwise required fields must be present and non-null.
 * allow_id: an "id" key is accepted (create). path prefixes messages ("input"). */
byron_status_t byron_input_validate(const byron_field_t *fields, size_t n, json_object *input, int partial,
                                    int allow_id, const char *path, byron_err_t *err);

/* Component metadata as JSON (GET /v1/meta); caller puts. */
json_object *byron_component_to_json(const byron_component_t *c);

#endif
