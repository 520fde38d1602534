/* subject.c — subjects and partitions: the only place that hashes an aggregate. */
#include "subject.h"

#include <stdio.h>
#include <string.h>

uint32_t byron_fnv1a32(const void *data, size_t len) {
    const unsigned char *p = data;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

uint32_t byron_partition(const char *model, const char *id, int partitions) {
    /* Hash "<model>/<id>" incrementally: no buffer, no length limit. */
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)model; *p; p++) h = (h ^ *p) * 16777619u;
    h = (h ^ (unsigned char)'/') * 16777619u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) h = (h ^ *p) * 16777619u;
    return partitions > 0 ? h % (uint32_t)partitions : 0;
}

int byron_subject_format(char *buf, size_t cap, const byron_component_t *c, const char *model,
                         const char *id) {
    int n = snprintf(buf, cap, "%s.%u.%s.%s", c->subject_prefix, byron_partition(model, id, c->partitions),
                     model, id);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int byron_subject_stream_filter(char *buf, size_t cap, const byron_component_t *c) {
    int n = snprintf(buf, cap, "%s.>", c->subject_prefix);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
