/* jsonc_annotations.c — makes json-c's shared mutable state visible to
 * ThreadSanitizer (the TSan build only: BYRON_SANITIZE=thread).
 *
 * libjson-c comes from Debian, uninstrumented, so TSan never sees the memory
 * it touches. Two of its hazards are writes hidden behind innocent-looking
 * calls: json_object_get/put change a reference count that is not atomic
 * (the cause of issue 17: a schema-owned default handed to every request),
 * and printing (json_object_to_json_string*, json_object_get_string of a
 * non-string) caches the text inside the object. Each executable of the TSan
 * build is linked with -Wl,--wrap=<function> for the functions below (see
 * lib/CMakeLists.txt), so our calls land here first: we tell TSan which
 * object is written or read (one byte at its address, which json-c never
 * hands to anyone else), then call the real function. Two threads touching
 * one object without a happens-before edge (a mutex, a queue, thread start)
 * are then reported as a data race at our call sites — exactly the sharing
 * STYLE.md forbids. Objects shared read-only (immutable, never ref-counted)
 * are only read and stay silent.
 *
 * What this cannot see: what json-c does inside itself (a put that frees a
 * tree decrements the children's counts out of sight). The writes of our
 * own calls are enough to catch the pattern, since a shared object is
 * always taken (get) or printed by our code first. */
#include <json-c/json.h>

void __tsan_read1(void *addr);
void __tsan_write1(void *addr);

/* The real functions (the linker's --wrap binds __real_X to X). */
struct json_object *__real_json_object_get(struct json_object *o);
int __real_json_object_put(struct json_object *o);
const char *__real_json_object_to_json_string(struct json_object *o);
const char *__real_json_object_to_json_string_ext(struct json_object *o, int flags);
const char *__real_json_object_to_json_string_length(struct json_object *o, int flags, size_t *len);
const char *__real_json_object_get_string(struct json_object *o);
int __real_json_object_object_add(struct json_object *o, const char *key, struct json_object *v);
void __real_json_object_object_del(struct json_object *o, const char *key);
int __real_json_object_array_add(struct json_object *o, struct json_object *v);
int __real_json_object_array_put_idx(struct json_object *o, size_t idx, struct json_object *v);
int __real_json_object_array_del_idx(struct json_object *o, size_t idx, size_t count);
json_bool __real_json_object_object_get_ex(const struct json_object *o, const char *key,
                                           struct json_object **v);
struct json_object *__real_json_object_array_get_idx(const struct json_object *o, size_t idx);
size_t __real_json_object_array_length(const struct json_object *o);

/* The wrappers' own prototypes (-Wmissing-prototypes). */
struct json_object *__wrap_json_object_get(struct json_object *o);
int __wrap_json_object_put(struct json_object *o);
const char *__wrap_json_object_to_json_string(struct json_object *o);
const char *__wrap_json_object_to_json_string_ext(struct json_object *o, int flags);
const char *__wrap_json_object_to_json_string_length(struct json_object *o, int flags, size_t *len);
const char *__wrap_json_object_get_string(struct json_object *o);
int __wrap_json_object_object_add(struct json_object *o, const char *key, struct json_object *v);
void __wrap_json_object_object_del(struct json_object *o, const char *key);
int __wrap_json_object_array_add(struct json_object *o, struct json_object *v);
int __wrap_json_object_array_put_idx(struct json_object *o, size_t idx, struct json_object *v);
int __wrap_json_object_array_del_idx(struct json_object *o, size_t idx, size_t count);
json_bool __wrap_json_object_object_get_ex(const struct json_object *o, const char *key,
                                           struct json_object **v);
struct json_object *__wrap_json_object_array_get_idx(const struct json_object *o, size_t idx);
size_t __wrap_json_object_array_length(const struct json_object *o);

static void wrote(const void *o) {
    if (o) __tsan_write1((void *)o);
}

static void read_(const void *o) {
    if (o) __tsan_read1((void *)o);
}

/* Reference counts. A put that frees is also a write of the freed block. */
struct json_object *__wrap_json_object_get(struct json_object *o) {
    wrote(o);
    return __real_json_object_get(o);
}

int __wrap_json_object_put(struct json_object *o) {
    wrote(o);
    return __real_json_object_put(o);
}

/* Printing caches the text in the object. */
const char *__wrap_json_object_to_json_string(struct json_object *o) {
    wrote(o);
    return __real_json_object_to_json_string(o);
}

const char *__wrap_json_object_to_json_string_ext(struct json_object *o, int flags) {
    wrote(o);
    return __real_json_object_to_json_string_ext(o, flags);
}

const char *__wrap_json_object_to_json_string_length(struct json_object *o, int flags, size_t *len) {
    wrote(o);
    return __real_json_object_to_json_string_length(o, flags, len);
}

/* A string's own text is a read; any other type is printed (and cached). */
const char *__wrap_json_object_get_string(struct json_object *o) {
    if (o && json_object_get_type(o) != json_type_string)
        wrote(o);
    else
        read_(o);
    return __real_json_object_get_string(o);
}

/* Containers: adding or removing is a write of the container; looking up
 * is a read. */
int __wrap_json_object_object_add(struct json_object *o, const char *key, struct json_object *v) {
    wrote(o);
    return __real_json_object_object_add(o, key, v);
}

void __wrap_json_object_object_del(struct json_object *o, const char *key) {
    wrote(o);
    __real_json_object_object_del(o, key);
}

int __wrap_json_object_array_add(struct json_object *o, struct json_object *v) {
    wrote(o);
    return __real_json_object_array_add(o, v);
}

int __wrap_json_object_array_put_idx(struct json_object *o, size_t idx, struct json_object *v) {
    wrote(o);
    return __real_json_object_array_put_idx(o, idx, v);
}

int __wrap_json_object_array_del_idx(struct json_object *o, size_t idx, size_t count) {
    wrote(o);
    return __real_json_object_array_del_idx(o, idx, count);
}

json_bool __wrap_json_object_object_get_ex(const struct json_object *o, const char *key,
                                           struct json_object **v) {
    read_(o);
    return __real_json_object_object_get_ex(o, key, v);
}

struct json_object *__wrap_json_object_array_get_idx(const struct json_object *o, size_t idx) {
    read_(o);
    return __real_json_object_array_get_idx(o, idx);
}

size_t __wrap_json_object_array_length(const struct json_object *o) {
    read_(o);
    return __real_json_object_array_length(o);
}
