/* store.h — the local cache of one kind of object, fed by an informer.
 *
 * Keys are "namespace/name" ("name" for cluster-scoped objects). Objects are
 * kept serialized and readers get a freshly parsed copy: json-c objects are
 * not safe to share between threads (even a read may cache a serialisation
 * inside the object), and text is ~10x smaller than a json-c tree. Writers
 * strip metadata.managedFields first: the operator never reads it and it is
 * often the largest part of an object (controller-runtime's "transform" does
 * the same). */
#ifndef BYRON_STORE_H
#define BYRON_STORE_H

#include "byron/kube_client.h"

#include <json-c/json.h>
#include <stddef.h>

typedef struct byron_store byron_store_t;

byron_store_t *byron_store_new(void);
void byron_store_free(byron_store_t *s);

/* "ns/name" of obj into buf; 0 on success, -1 when metadata.name is missing. */
int byron_store_key(json_object *obj, char *buf, size_t n);

/* Insert or replace a serialized copy of obj (trimmed in place first). The
 * informer that owns the store is its only writer. */
void byron_store_set(byron_store_t *s, const char *key, json_object *obj);
void byron_store_delete(byron_store_t *s, const char *key);
/* A parsed copy (caller puts), NULL when absent. */
json_object *byron_store_get(byron_store_t *s, const char *key);
int byron_store_has(byron_store_t *s, const char *key);
size_t byron_store_len(byron_store_t *s);

/* Copy of all keys (caller frees each and the array); *n gets the count. */
char **byron_store_keys(byron_store_t *s, size_t *n);

/* Strip fields the operator never reads (metadata.managedFields, kubectl's
 * last-applied-configuration annotation). */
void byron_store_trim(json_object *obj);

/* A new object with only what the reconciler reads of an owned child:
 * identity, resourceVersion, labels, our byron.io/ annotations, owner
 * references, deletionTimestamp, spec.replicas and the replica counts of
 * status (controller-runtime's metadata-only informers, plus what status
 * needs), and BYRON_STORE_OWNED_FIELDS/_OTHER_MANAGERS. A Deployment shrinks from ~5 KB of
 * JSON to ~0.5 KB, and Secret data never sits in the operator's memory.
 * Caller puts. */
json_object *byron_store_slim(json_object *obj);

/* The slim object's fingerprint of the fields our server-side applies own:
 * a hash of the fieldsV1 of obj's managedFields entry by our field manager
 * (operation Apply, no subresource). Someone else changing or removing a
 * field we set takes it out of that set (server-side apply's field
 * ownership), so a changed fingerprint is drift, seen without reading the
 * object's content. A string of 16 hex digits into out; "" without such an
 * entry. Returns 1 when another manager owns fields of the object itself (not
 * of a subresource such as status): BYRON_STORE_OTHER_MANAGERS in the slim
 * object, which tells a reconciler that first sees the object (after a
 * restart) that it may have drifted while nobody watched. */
#define BYRON_STORE_OWNED_FIELDS "byronOwnedFields"
#define BYRON_STORE_OTHER_MANAGERS "byronOtherManagers"
int byron_store_owned_fields(json_object *obj, char out[17]);

#endif
