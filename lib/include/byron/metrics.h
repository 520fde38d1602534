/* metrics.h — a Prometheus registry: counters, gauges and histograms with
 * labels, rendered in the text exposition format (version 0.0.4).
 *
 * Families are registered once at start-up; updates are thread-safe (one
 * mutex per registry). Series are found by a linear scan of the family's label
 * values: O(series), which is fine for the low cardinalities we allow
 * (never a label from user input such as an id). */
#ifndef BYRON_METRICS_H
#define BYRON_METRICS_H

#include <stddef.h>

typedef struct byron_metrics byron_metrics_t;
typedef struct byron_metric byron_metric_t;

typedef enum { BYRON_METRIC_COUNTER, BYRON_METRIC_GAUGE, BYRON_METRIC_HISTOGRAM } byron_metric_kind_t;

byron_metrics_t *byron_metrics_new(void);
void byron_metrics_free(byron_metrics_t *m);

/* labels: NULL-terminated label names, or NULL. buckets: upper bounds,
 * ascending, for histograms (NULL: default latency buckets in seconds).
 * The registry owns the family; returns NULL on a duplicate name. */
byron_metric_t *byron_metrics_register(byron_metrics_t *m, byron_metric_kind_t kind, const char *name,
                                       const char *help, const char *const *labels, const double *buckets,
                                       size_t nbuckets);

/* values: as many label values as the family has label names (NULL if none). */
void byron_metric_add(byron_metric_t *f, const char *const *values, double v);
void byron_metric_set(byron_metric_t *f, const char *const *values, double v);
void byron_metric_observe(byron_metric_t *f, const char *const *values, double v);
/* Drop one series (a thing that no longer exists: its last value must not
 * linger on every scrape). */
void byron_metric_remove(byron_metric_t *f, const char *const *values);
/* Current value of a counter/gauge series (0 if absent): for tests and readiness. */
double byron_metric_value(byron_metric_t *f, const char *const *values);

/* Text exposition; the caller frees the result. */
char *byron_metrics_render(byron_metrics_t *m, size_t *len);

#endif
