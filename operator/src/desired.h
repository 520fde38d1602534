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
 *   Deployment  c-api, c-sink         [app] + byron-sidecar --mode=api|sink
 *   Secret      c-nats-credentials    NATS users of api and sink (reconcile mints them)
 *   NetworkPolicy c-cache, c-api, c-sink  who may reach each part (--network-policies)
 *   PodDisruptionBudget c-api, c-sink  one pod at a time in a voluntary disruption
 *   HTTPRoute   c-api                 spec.api.expose, when the cluster serves the Gateway API
 *   Ingress     c-api                 spec.api.expose, otherwise (or with only ingressClassName) */
#ifndef BYRON_DESIRED_H
#define BYRON_DESIRED_H

#include "byron/status.h"
#include "resource.h"

#include <json-c/json.h>
#include <stdint.h>

typedef struct byron_desired_options {
    const char *sidecar_image;        /* --sidecar-image */
    const char *default_cache_image;  /* --default-cache-image (mongo:7) */
    const char *default_broker_url;   /* --default-broker-url */
    const char *cache_uri_options;    /* --cache-uri-options: appended to the generated cache URI, or NULL */
    int default_stream_replicas;      /* --default-stream-replicas: 1 or 3 (0: 1) */
    int64_t default_stream_max_bytes; /* --default-stream-max-bytes: -1 or 0 for no limit */
    int nats_auth;                    /* NATS users per component: mount <c>-nats-credentials */
    const char *nats_ca_pem;          /* CA of the brokers' TLS certificates (PEM), or NULL */
    int network_policies;             /* --network-policies: a NetworkPolicy per part (cache, api, sink) */
    const char *monitoring_namespace; /* --monitoring-namespace: may reach the admin port; NULL: no one */
    int cache_users;                  /* least-privilege MongoDB users per component (else root) */
    const unsigned char *cache_key;   /* --cache-key-secret: cache passwords derive from it, or NULL */
    size_t cache_key_len;
    const char *default_auth; /* --default-auth: spec.auth (JSON) for components without one, or NULL */
    int gateway_api;          /* the cluster serves gateway.networking.k8s.io/v1 (discovery at start) */
} byron_desired_options_t;

/* The sidecar's admin port (probes, metrics): in the pod, never in the Service. */
#define BYRON_SIDECAR_ADMIN_PORT 9090

#define BYRON_DESIRED_MAX 12

/* What the component's streams should be (the operator creates them). */
typedef struct byron_desired_streams {
    const char *broker_url; /* points into the component */
    int replicas;
    int64_t max_bytes; /* -1: unlimited */
} byron_desired_streams_t;

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
    /* component.json's schemaGeneration and the hash of the schema it was
     * derived for: the reconcile records both in status.schema. */
    char schema_hash[17];
    int64_t schema_generation;
    byron_desired_streams_t streams;
    /* spec.api.expose: the kind of c-api's route (HTTPRoute or Ingress), NULL
     * when not exposed; the other kind's c-api, if ours, is deleted. */
    const byron_kind_t *expose_kind;
} byron_desired_t;

/* Which kind spec.api.expose becomes: an HTTPRoute when the cluster serves the
 * Gateway API and expose names a gateway; else an Ingress (expose names an
 * ingressClassName, or the cluster has no Gateway API: the cluster's default
 * IngressClass). NULL when the component is not exposed. */
const byron_kind_t *byron_desired_expose_kind(json_object *bc, int gateway_api);

/* Byron's images are docker.io/byron/<part>:<version> (operator, sidecar,
 * example-orders; docs/operator.md, "Images"); the version is the project's
 * (CMakeLists.txt), which the chart's appVersion repeats (checked by docs.check). */
#define BYRON_DEFAULT_SIDECAR_IMAGE "docker.io/byron/sidecar:" BYRON_VERSION

#define BYRON_ANN_APPLIED_HASH "byron.io/applied-hash"
#define BYRON_NATS_CREDS_DIR "/etc/byron-nats" /* the role's nats.creds in the sidecar */
#define BYRON_NATS_CA_KEY "nats-ca.crt"        /* in <c>-config, so /etc/byron/nats-ca.crt */
#define BYRON_ANN_CONFIG_HASH "byron.io/config-hash"

/* Build everything the component should own except the Secret (see
 * byron_desired_secret). component.json's schemaGeneration comes from the
 * component's status.schema {hash, generation} (docs/evolution.md). Fails with EINVAL and the field's path
 * when the spec is unusable ("spec.cache: storage and external are exclusive"). */
byron_status_t byron_desired_build(json_object *bc, const byron_desired_options_t *o, byron_desired_t *out,
                                   byron_err_t *err);
void byron_desired_cleanup(byron_desired_t *d);

/* The cache generation the sink is asked for (BYRON_CACHE_GENERATION;
 * docs/sink.md, "Rebuild"): status.rebuild.generation, plus one when
 * spec.cache.rebuild names a token other than status.rebuild.requested; 0
 * while no rebuild was ever asked for. *token: spec.cache.rebuild or NULL. */
int64_t byron_desired_cache_generation(json_object *bc, const char **token);

/* component.json for the sidecar (caller puts). */
byron_status_t byron_desired_component_config(json_object *bc, json_object **out, byron_err_t *err);

/* The cache's MongoDB users: root (the image's MONGO_INITDB_ROOT_*, the
 * operator's bootstrap of the cache), api (read on the component's database)
 * and sink (readWrite there). Passwords are 48 hex characters. */
typedef struct byron_cache_passwords {
    char root[49], api[49], sink[49];
} byron_cache_passwords_t;
#define BYRON_CACHE_KEY "cache-password-key"         /* the key's key in the --cache-key-secret Secret */
#define BYRON_ANN_CACHE_USERS "byron.io/cache-users" /* on the Secret: "api,sink" once it has them */
#define BYRON_ANN_CACHE_TLS "byron.io/cache-tls"     /* on the Secret: "true" when its URIs ask for TLS */
/* spec.cache.tls: the Secret's files, mounted here in the cache (both) and the
 * sidecars (the CA only). */
#define BYRON_CACHE_TLS_DIR "/etc/byron-cache-tls"
#define BYRON_CACHE_TLS_PEM "tls-combined.pem" /* certificate then key (cert-manager's CombinedPEM) */
#define BYRON_CACHE_TLS_CA "ca.crt"

/* The Secret named by spec.cache.tls.secretRef, or NULL: no TLS (or an
 * external cache). */
const char *byron_desired_cache_tls(json_object *bc);

/* A cache password derived from the release's key: HMAC-SHA256(key,
 * "byron-cache-password/<ns>/<component>/<user>"), hex. The same component
 * name gets the same password, so a deleted Secret (or a component deleted
 * and made again) finds the cache's volume with the password it has. */
void byron_desired_cache_password(const unsigned char *key, size_t len, json_object *bc, const char *user,
                                  char out[49]);

/* The cache credentials Secret (caller puts): keys username, password, uri
 * (root, authSource=admin) and, with users, api-… and sink-… (authSource: the
 * component's database). uri_options (NULL or ""): appended to every URI, e.g.
 * "authMechanism=PLAIN" for a cache that is not MongoDB itself. */
json_object *byron_desired_secret(json_object *bc, const byron_cache_passwords_t *pw, int users,
                                  const char *uri_options);
/* The component's cache database: byron_<component>, '-' → '_' (the sidecar's default). */
void byron_desired_cache_database(json_object *bc, char *buf, size_t n);

/* The NATS credentials Secret <c>-nats-credentials: one .creds file per
 * role (keys api.creds, sink.creds; each pod mounts only its own), with our
 * annotations (caller puts). */
json_object *byron_desired_nats_secret(json_object *bc, const char *api_creds, const char *sink_creds,
                                       const char *permissions_hash, int64_t renew_at);
#define BYRON_ANN_NATS_PERMISSIONS "byron.io/nats-permissions"
#define BYRON_ANN_NATS_RENEW_AT "byron.io/nats-renew-at"

/* A byte size: a non-negative integer, or a string "<n>[Ki|Mi|Gi|Ti|k|M|G|T]".
 * -1 means "no limit". EINVAL naming path otherwise. */
byron_status_t byron_desired_bytes(json_object *v, const char *path, int64_t *out, byron_err_t *err);

/* The sidecar settings of spec.api.sidecar / spec.sink.sidecar and the
 * environment variable each becomes in the byron-sidecar container
 * (docs/sidecar.md, "Configuration"). The CRD holds their bounds, the sidecar
 * checks the same ones at start (operator_crd_it crd::sidecar_settings_*). */
#define BYRON_DESIRED_API 1u
#define BYRON_DESIRED_SINK 2u
typedef struct byron_desired_setting {
    const char *field; /* under spec.<part>.sidecar; "graphql.maxDepth" for a nested one */
    const char *env;
    unsigned parts; /* BYRON_DESIRED_API | BYRON_DESIRED_SINK */
} byron_desired_setting_t;
extern const byron_desired_setting_t byron_desired_settings[]; /* ends with {NULL} */

/* Name helpers: "<c><suffix>" into buf. */
void byron_desired_name(json_object *bc, const char *suffix, char *buf, size_t n);

#endif
