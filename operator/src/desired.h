/* desired.h — pure builders: a ByronComponent in, the objects it should own out.
 *
 * No I/O and no clock: the same component and options always give the same
 * JSON, which is what makes a content hash (annotation byron.io/applied-hash)
 * a valid "nothing to do" test and what makes these functions unit-testable.
 *
 * Owned objects, for component c in namespace ns:
 *   ConfigMap   c-config              component.json (docs/component-spec.md)
 *   Secret      c-cache-credentials   created once, never re-applied (password)
 *   Service     c-cache               headless, 27017          } unless
 *   StatefulSet c-cache               mongo, PVC "data"         } cache.external
 *   Service     c-api                 80 → http (8080)
 *   Deployment  c-api, c-sink         [app] + byron-sidecar --mode=api|sink */
#ifndef BYRON_DESIRED_H
#define BYRON_DESIRED_H

#include "byron/status.h"
#include "resource.h"

#include <json-c/json.h>

typedef struct byron_desired_options {
    const char *sidecar_image;       /* --sidecar-image */
    const char *default_cache_image; /* --default-cache-image (mongo:7) */
    const char *default_broker_url;  /* --default-broker-url */
    const char *cache_uri_options;   /* --cache-uri-options: appended to the generated cache URI, or NULL */
} byron_desired_options_t;

#define BYRON_DESIRED_MAX 6

typedef struct byron_desired_obj {
    const byron_kind_t *kind;
    json_object *obj; /* owned */
    char name[256];
    char hash[17]; /* also in metadata.annotations["byron.io/applied-hash"] */
} byron_desired_obj_t;

typedef struct byron_desired {
    byron_desired_obj_t objs[BYRON_DESIRED_MAX];
    int n;
    int cache_external;
    char config_hash[17];
} byron_desired_t;

/* Byron's images are docker.io/byron/<part>:<version> (operator, sidecar,
 * example-orders; docs/operator.md, "Images"); the version is the project's
 * (CMakeLists.txt), which the chart's appVersion repeats (checked by docs.check). */
#define BYRON_DEFAULT_SIDECAR_IMAGE "docker.io/byron/sidecar:" BYRON_VERSION

#define BYRON_ANN_APPLIED_HASH "byron.io/applied-hash"
#define BYRON_ANN_CONFIG_HASH "byron.io/config-hash"

/* Build everything the component should own except the Secret (see
 * byron_desired_secret). Fails with EINVAL and the field's path when the spec
 * is unusable ("spec.cache: storage and external are exclusive"). */
byron_status_t byron_desired_build(json_object *bc, const byron_desired_options_t *o, byron_desired_t *out,
                                   byron_err_t *err);
void byron_desired_cleanup(byron_desired_t *d);

/* component.json for the sidecar (caller puts). */
byron_status_t byron_desired_component_config(json_object *bc, json_object **out, byron_err_t *err);

/* The cache credentials Secret with this password (caller puts). */
/* uri_options (NULL or ""): extra connection-string options appended to the
 * URI, e.g. "authMechanism=PLAIN" for a cache that is not MongoDB itself. */
json_object *byron_desired_secret(json_object *bc, const char *password, const char *uri_options);

/* Name helpers: "<c><suffix>" into buf. */
void byron_desired_name(json_object *bc, const char *suffix, char *buf, size_t n);

/* Standard base64 of len bytes (caller frees). */
char *byron_base64(const unsigned char *in, size_t len);

#endif
