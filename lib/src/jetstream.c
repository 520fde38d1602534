/* jetstream.c — JetStream names and stream configurations of a component. */
#include "byron/jetstream.h"

#include <stdio.h>
#include <string.h>

int byron_jetstream_names(const char *ns, const char *c, byron_jetstream_names_t *n) {
    memset(n, 0, sizeof *n);
    int r = 0;
    r |= snprintf(n->stream, sizeof n->stream, "BYRON_%s_%s", ns, c) >= (int)sizeof n->stream;
    r |= snprintf(n->prefix, sizeof n->prefix, "byron.%s.%s", ns, c) >= (int)sizeof n->prefix;
    r |= snprintf(n->subjects, sizeof n->subjects, "%s.>", n->prefix) >= (int)sizeof n->subjects;
    for (char *p = n->stream; *p; p++)
        if (*p == '-') *p = '_';
    r |= snprintf(n->dlq_stream, sizeof n->dlq_stream, "%s_DLQ", n->stream) >= (int)sizeof n->dlq_stream;
    r |= snprintf(n->dlq_prefix, sizeof n->dlq_prefix, "byrondlq.%s.%s", ns, c) >= (int)sizeof n->dlq_prefix;
    r |= snprintf(n->dlq_subjects, sizeof n->dlq_subjects, "%s.>", n->dlq_prefix) >=
         (int)sizeof n->dlq_subjects;
    return r ? -1 : 0;
}

static void add(json_object *o, const char *k, json_object *v) { json_object_object_add(o, k, v); }

static json_object *base(const char *name, const char *subjects, const char *description, int replicas) {
    json_object *c = json_object_new_object(), *s = json_object_new_array();
    json_object_array_add(s, json_object_new_string(subjects));
    add(c, "name", json_object_new_string(name));
    add(c, "description", json_object_new_string(description));
    add(c, "subjects", s);
    add(c, "retention", json_object_new_string("limits"));
    add(c, "max_consumers", json_object_new_int(-1));
    add(c, "max_msgs", json_object_new_int(-1));
    add(c, "max_age", json_object_new_int(0));
    add(c, "max_msg_size", json_object_new_int(-1));
    add(c, "storage", json_object_new_string("file"));
    add(c, "num_replicas", json_object_new_int(replicas > 0 ? replicas : 1));
    add(c, "duplicate_window", json_object_new_int64((int64_t)120 * 1000000000));
    return c;
}

json_object *byron_jetstream_stream_config(const byron_jetstream_names_t *n, int replicas,
                                           int64_t max_bytes) {
    json_object *c = base(n->stream, n->subjects, "Byron component event log", replicas);
    /* Nothing expires. A byte limit, when set, refuses new events once the
     * stream is full (discard new): dropping the oldest would lose history. */
    add(c, "max_bytes", json_object_new_int64(max_bytes > 0 ? max_bytes : -1));
    add(c, "discard", json_object_new_string(max_bytes > 0 ? "new" : "old"));
    add(c, "allow_direct", json_object_new_boolean(1));
    add(c, "deny_delete", json_object_new_boolean(1));
    add(c, "deny_purge", json_object_new_boolean(1));
    add(c, "allow_atomic", json_object_new_boolean(1)); /* unique claims, multi-event commands */
    return c;
}

json_object *byron_jetstream_dlq_config(const byron_jetstream_names_t *n, int replicas) {
    json_object *c = base(n->dlq_stream, n->dlq_subjects, "Byron dead-lettered events", replicas);
    add(c, "max_bytes", json_object_new_int(-1));
    add(c, "discard", json_object_new_string("old"));
    return c;
}

const char *byron_jetstream_config_differs(json_object *want, json_object *have) {
    static const char *const KEYS[] = {"subjects",     "num_replicas", "duplicate_window", "max_bytes",
                                       "discard",      "allow_direct", "deny_delete",      "deny_purge",
                                       "allow_atomic", "storage",      "retention"};
    if (!have) return "config";
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        json_object *a = NULL, *b = NULL;
        if (!json_object_object_get_ex(want, KEYS[i], &a)) continue; /* not managed for this stream */
        json_object_object_get_ex(have, KEYS[i], &b);
        /* The server omits false booleans from its answers. */
        if (!b && json_object_is_type(a, json_type_boolean) && !json_object_get_boolean(a)) continue;
        if (!b || !json_object_equal(a, b)) return KEYS[i];
    }
    return NULL;
}
