/* strmap.h — a string-keyed hash map (chained, power-of-two buckets).
 *
 * The one container the operator needs: the informer stores map "ns/name" to
 * objects, the work queue keeps its dirty and processing sets in it. Not
 * thread-safe: each owner wraps it in its own lock. Keys are copied; values
 * are owned by the caller, who passes a destructor to _free/_del if the map
 * should release them. */
#ifndef BYRON_STRMAP_H
#define BYRON_STRMAP_H

#include <stddef.h>

typedef struct byron_strmap byron_strmap_t;
typedef void (*byron_strmap_free_fn)(void *value);

/* value_free: called on values replaced, deleted or left at _free (NULL: none). */
byron_strmap_t *byron_strmap_new(byron_strmap_free_fn value_free);
void byron_strmap_free(byron_strmap_t *m);

/* Insert or replace. Returns 0, or -1 when out of memory (value not taken). */
int byron_strmap_set(byron_strmap_t *m, const char *key, void *value);
/* NULL when absent (so don't store NULL values if you need to tell them apart). */
void *byron_strmap_get(const byron_strmap_t *m, const char *key);
int byron_strmap_has(const byron_strmap_t *m, const char *key);
/* Remove and release through value_free. Returns 1 if the key was there. */
int byron_strmap_del(byron_strmap_t *m, const char *key);
/* Remove without releasing; returns the value (NULL when absent). */
void *byron_strmap_take(byron_strmap_t *m, const char *key);
size_t byron_strmap_len(const byron_strmap_t *m);

/* Visit every entry; fn must not modify the map. O(buckets + entries). */
typedef void (*byron_strmap_visit_fn)(void *ud, const char *key, void *value);
void byron_strmap_foreach(const byron_strmap_t *m, byron_strmap_visit_fn fn, void *ud);

/* FNV-1a, 64 bit: also the operator's content hash for annotations. */
unsigned long long byron_fnv1a64(const void *data, size_t len);

#endif
