/* subject.h — event subjects, partitions and stream names (docs/component-spec.md).
 *
 *   subject   byron.<ns>.<component>.<partition>.<Model>.<id>
 *   partition fnv1a32("<Model>/<id>") % partitions
 *
 * Pure functions, no allocation unless the name says so. */
#ifndef BYRON_SIDECAR_SUBJECT_H
#define BYRON_SIDECAR_SUBJECT_H

#include "component.h"

#include <stddef.h>
#include <stdint.h>

/* 32-bit FNV-1a over len bytes (offset basis 2166136261, prime 16777619). */
uint32_t byron_fnv1a32(const void *data, size_t len);

/* fnv1a32("<model>/<id>") % partitions. */
uint32_t byron_partition(const char *model, const char *id, int partitions);

/* Write the aggregate's subject into buf; returns the length, or -1 if it does not fit. */
int byron_subject_format(char *buf, size_t cap, const byron_component_t *c, const char *model,
                         const char *id);

/* byron.<ns>.<component>.> — what the component's stream captures. */
int byron_subject_stream_filter(char *buf, size_t cap, const byron_component_t *c);

#define BYRON_SUBJECT_MAX 512

#endif
