/* metrics.c — Prometheus registry. */
#include "byron/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 8

static const double default_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,    0.25,  0.5,    1,     2.5,  5,     10};

typedef struct series {
    struct series *next;
    char **values;
    double value; /* counter / gauge; histogram sum */
    unsigned long long count;
    unsigned long long *bucket_counts;
} series_t;

struct byron_metric {
    struct byron_metric *next;
    byron_metrics_t *reg;
    byron_metric_kind_t kind;
    char *name, *help;
    char *labels[MAX_LABELS];
    size_t nlabels;
    double *buckets;
    size_t nbuckets;
    series_t *series;
};

struct byron_metrics {
    pthread_mutex_t mu;
    byron_metric_t *head, *tail;
};

byron_metrics_t *byron_metrics_new(void) {
    byron_metrics_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void series_free(series_t *s, size_t nlabels) {
    for (size_t i = 0; i < nlabels; i++) free(s->values[i]);
    free(s->values);
    free(s->bucket_counts);
    free(s);
}

void byron_metrics_free(byron_metrics_t *m) {
    if (!m) return;
    for (byron_metric_t *f = m->head, *nf; f; f = nf) {
        nf = f->next;
        for (series_t *s = f->series, *ns; s; s = ns) {
            ns = s->next;
            series_free(s, f->nlabels);
        }
        for (size_t i = 0; i < f->nlabels; i++) free(f->labels[i]);
        free(f->name);
        free(f->help);
        free(f->buckets);
        free(f);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

byron_metric_t *byron_metrics_register(byron_metrics_t *m, byron_metric_kind_t kind, const char *name,
                                       const char *help, const char *const *labels, const double *buckets,
                                       size_t nbuckets) {
    pthread_mutex_lock(&m->mu);
    for (byron_metric_t *f = m->head; f; f = f->next) {
        if (strcmp(f->name, name) == 0) {
            pthread_mutex_unlock(&m->mu);
            return NULL;
        }
    }
    byron_metric_t *f = calloc(1, sizeof *f);
    if (!f) goto err;
    f->reg = m;
    f->kind = kind;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (!f->name || !f->help) goto err;
    for (size_t i = 0; labels && labels[i] && i < MAX_LABELS; i++) {
        if (!(f->labels[i] = strdup(labels[i]))) goto err;
        f->nlabels++;
    }
    if (kind == BYRON_METRIC_HISTOGRAM) {
        if (!buckets) {
            buckets = default_buckets;
            nbuckets = sizeof default_buckets / sizeof default_buckets[0];
        }
        f->buckets = malloc(nbuckets * sizeof *f->buckets);
        if (!f->buckets) goto err;
        memcpy(f->buckets, buckets, nbuckets * sizeof *f->buckets);
        f->nbuckets = nbuckets;
    }
    if (m->tail)
        m->tail->next = f;
    else
        m->head = f;
    m->tail = f;
    pthread_mutex_unlock(&m->mu);
    return f;
err:
    if (f) {
        for (size_t i = 0; i < f->nlabels; i++) free(f->labels[i]);
        free(f->name);
        free(f->help);
        free(f->buckets);
        free(f);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* Caller holds the registry lock. NULL only when out of memory. */
static series_t *series_get(byron_metric_t *f, const char *const *values) {
    for (series_t *s = f->series; s; s = s->next) {
        size_t i = 0;
        for (; i < f->nlabels; i++)
            if (strcmp(s->values[i], values && values[i] ? values[i] : "") != 0) break;
        if (i == f->nlabels) return s;
    }
    series_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->values = calloc(f->nlabels ? f->nlabels : 1, sizeof *s->values);
    if (f->nbuckets) s->bucket_counts = calloc(f->nbuckets, sizeof *s->bucket_counts);
    if (!s->values || (f->nbuckets && !s->bucket_counts)) goto err;
    for (size_t i = 0; i < f->nlabels; i++)
        if (!(s->values[i] = strdup(values && values[i] ? values[i] : ""))) goto err;
    s->next = f->series;
    f->series = s;
    return s;
err:
    series_free(s, f->nlabels);
    return NULL;
}

void byron_metric_add(byron_metric_t *f, const char *const *values, double v) {
    if (!f) return;
    pthread_mutex_lock(&f->reg->mu);
    series_t *s = series_get(f, values);
    if (s) s->value += v;
    pthread_mutex_unlock(&f->reg->mu);
}

void byron_metric_set(byron_metric_t *f, const char *const *values, double v) {
    if (!f) return;
    pthread_mutex_lock(&f->reg->mu);
    series_t *s = series_get(f, values);
    if (s) s->value = v;
    pthread_mutex_unlock(&f->reg->mu);
}

void byron_metric_observe(byron_metric_t *f, const char *const *values, double v) {
    if (!f || f->kind != BYRON_METRIC_HISTOGRAM) return;
    pthread_mutex_lock(&f->reg->mu);
    series_t *s = series_get(f, values);
    if (s) {
        s->value += v;
        s->count++;
        for (size_t i = 0; i < f->nbuckets; i++)
            if (v <= f->buckets[i]) s->bucket_counts[i]++;
    }
    pthread_mutex_unlock(&f->reg->mu);
}

void byron_metric_remove(byron_metric_t *f, const char *const *values) {
    if (!f) return;
    pthread_mutex_lock(&f->reg->mu);
    for (series_t **pp = &f->series; *pp; pp = &(*pp)->next) {
        size_t i = 0;
        for (; i < f->nlabels; i++)
            if (strcmp((*pp)->values[i], values && values[i] ? values[i] : "") != 0) break;
        if (i == f->nlabels) {
            series_t *gone = *pp;
            *pp = gone->next;
            series_free(gone, f->nlabels);
            break;
        }
    }
    pthread_mutex_unlock(&f->reg->mu);
}

double byron_metric_value(byron_metric_t *f, const char *const *values) {
    if (!f) return 0;
    double v = 0;
    pthread_mutex_lock(&f->reg->mu);
    for (series_t *s = f->series; s; s = s->next) {
        size_t i = 0;
        for (; i < f->nlabels; i++)
            if (strcmp(s->values[i], values && values[i] ? values[i] : "") != 0) break;
        if (i == f->nlabels) {
            v = f->kind == BYRON_METRIC_HISTOGRAM ? (double)s->count : s->value;
            break;
        }
    }
    pthread_mutex_unlock(&f->reg->mu);
    return v;
}

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} sbuf_t;

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = (b->cap + (size_t)n + 1) * 2;
        char *nb = realloc(b->buf, ncap);
        if (!nb) {
            b->oom = 1;
            return;
        }
        b->buf = nb;
        b->cap = ncap;
    }
}

/* Label values escape \, " and newline, per the exposition format. */
static void sb_label_value(sbuf_t *b, const char *v) {
    for (; *v; v++) {
        if (*v == '\\')
            sb_printf(b, "\\\\");
        else if (*v == '"')
            sb_printf(b, "\\\"");
        else if (*v == '\n')
            sb_printf(b, "\\n");
        else
            sb_printf(b, "%c", *v);
    }
}

static void sb_labels(sbuf_t *b, byron_metric_t *f, series_t *s, const char *le) {
    if (!f->nlabels && !le) return;
    sb_printf(b, "{");
    for (size_t i = 0; i < f->nlabels; i++) {
        sb_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
        sb_label_value(b, s->values[i]);
        sb_printf(b, "\"");
    }
    if (le) sb_printf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    sb_printf(b, "}");
}

char *byron_metrics_render(byron_metrics_t *m, size_t *len) {
    sbuf_t b = {malloc(4096), 0, 4096, 0};
    if (!b.buf) return NULL;
    b.buf[0] = '\0';
    static const char *kinds[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&m->mu);
    for (byron_metric_t *f = m->head; f; f = f->next) {
        sb_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, kinds[f->kind]);
        for (series_t *s = f->series; s; s = s->next) {
            if (f->kind != BYRON_METRIC_HISTOGRAM) {
                sb_printf(&b, "%s", f->name);
                sb_labels(&b, f, s, NULL);
                sb_printf(&b, " %.17g\n", s->value);
                continue;
            }
            for (size_t i = 0; i < f->nbuckets; i++) {
                char le[32];
                snprintf(le, sizeof le, "%g", f->buckets[i]);
                sb_printf(&b, "%s_bucket", f->name);
                sb_labels(&b, f, s, le);
                sb_printf(&b, " %llu\n", s->bucket_counts[i]);
            }
            sb_printf(&b, "%s_bucket", f->name);
            sb_labels(&b, f, s, "+Inf");
            sb_printf(&b, " %llu\n%s_sum", s->count, f->name);
            sb_labels(&b, f, s, NULL);
            sb_printf(&b, " %.17g\n%s_count", s->value, f->name);
            sb_labels(&b, f, s, NULL);
            sb_printf(&b, " %llu\n", s->count);
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    if (len) *len = b.len;
    return b.buf;
}
