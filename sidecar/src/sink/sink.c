/* sink.c — the Sink: lanes (durable pull consumers) → projection → cache.
 * This file: the object — settings, new/start/stop/free, readiness, metrics;
 * the steps live beside it (sink_internal.h lists them).
 *
 * Life of an event (docs/sink.md):
 *   lane thread: no-wait fetch from the lane's durable (at most one in flight
 *   per lane cluster-wide: MaxAckPending 1) → parse and validate → read the
 *   cached document's version → guard (projector.c): skip / gap / apply →
 *   app hooks and handler (own custom events and subscribed events) →
 *   conditional write (filter on the version read, so a late replica's write
 *   loses instead of going backwards) → ack.
 *   A failure NAKs with a growing delay; an event that keeps failing is
 *   published to the dead-letter stream with its error, then terminated.
 *   An unavailable cache or app is not the event's fault: NAK, never
 *   dead-letter. */
#include "generation.h"
#include "sink_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS_DEFAULT 8

void byron_sink_sleep_ms(byron_sink_t *s, int64_t ms) {
    while (ms > 0 && !atomic_load(&s->stop)) {
        int64_t step = ms > 50 ? 50 : ms;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

void byron_sink_subscription_durable(const byron_component_t *c, char *buf, size_t cap) {
    snprintf(buf, cap, "byron-sub-%s-%s", c->namespace_, c->component);
}

void byron_sink_dlq_names(const byron_component_t *c, char *stream, size_t scap, char *prefix, size_t pcap) {
    snprintf(stream, scap, "%s_DLQ", c->stream);
    snprintf(prefix, pcap, "byrondlq.%s.%s", c->namespace_, c->component);
}

/* The defaults of the settings left at 0 (sink.h). */
static void options_defaults(byron_sink_options_t *o) {
    if (o->max_deliver <= 0) o->max_deliver = 5;
    if (o->retry_ms <= 0) o->retry_ms = 500;
    if (o->ack_wait_ms <= 0) o->ack_wait_ms = 30000;
    if (o->dlq_attempts <= 0) o->dlq_attempts = o->max_deliver + 10;
}

static void metrics_register(byron_sink_t *s, byron_metrics_t *metrics) {
    static const char *const EL[] = {"type", "outcome", NULL};
    static const char *const PL[] = {"consumer", NULL};
    if (!metrics) return;
    s->m.events =
        byron_metrics_register(metrics, BYRON_METRIC_COUNTER, "byron_sink_events_total",
                               "Events handled by the sink, by type and outcome (projected, skipped, "
                               "unhandled, filtered, failed, deferred, dead_lettered, dead_letter_failed)",
                               EL, NULL, 0);
    s->m.cache_reads = byron_metrics_register(
        metrics, BYRON_METRIC_COUNTER, "byron_sink_cache_reads_total",
        "Cache documents read to project events (an update without an app is written without one)", NULL,
        NULL, 0);
    s->m.latency = byron_metrics_register(metrics, BYRON_METRIC_HISTOGRAM, "byron_sink_projection_seconds",
                                          "Time to project one event (read, app, write)", NULL, NULL, 0);
    s->m.age =
        byron_metrics_register(metrics, BYRON_METRIC_HISTOGRAM, "byron_sink_event_age_seconds",
                               "From the event's storage in the stream to its projection", NULL, NULL, 0);
    s->m.pending = byron_metrics_register(metrics, BYRON_METRIC_GAUGE, "byron_sink_consumer_pending",
                                          "Events not yet delivered, per consumer (lag)", PL, NULL, 0);
    s->m.dlq_failures = byron_metrics_register(
        metrics, BYRON_METRIC_COUNTER, "byron_sink_dead_letter_failures_total",
        "Events terminated because their dead letter could not be stored (they stay in the stream)", NULL,
        NULL, 0);
    s->m.generation =
        byron_metrics_register(metrics, BYRON_METRIC_GAUGE, "byron_cache_generation",
                               "The cache generation the api reads, as this sink last saw it", NULL, NULL, 0);
    s->m.rebuild_pending = byron_metrics_register(
        metrics, BYRON_METRIC_GAUGE, "byron_sink_rebuild_pending",
        "Events a cache rebuild still has to project (0: none under way)", NULL, NULL, 0);
}

byron_sink_t *byron_sink_new(const byron_sink_options_t *o, byron_err_t *err) {
    byron_sink_t *s = calloc(1, sizeof *s);
    if (!s) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        return NULL;
    }
    s->o = *o;
    s->comp = o->component;
    s->stream = o->stream;
    s->cache = o->cache;
    s->o.database = byron_cache_database(o->cache);
    pthread_mutex_init(&s->index_lock, NULL);
    options_defaults(&s->o);
    byron_sink_dlq_names(s->comp, s->dlq_stream, sizeof s->dlq_stream, s->dlq_prefix, sizeof s->dlq_prefix);
    s->per = (size_t)s->comp->partitions + s->comp->nsubscriptions;
    s->nlanes = 2 * s->per; /* two name slots (generation.h) */
    s->nthreads = o->threads > 0 ? o->threads : MAX_THREADS_DEFAULT;
    if ((size_t)s->nthreads > s->per) s->nthreads = (int)s->per; /* a thread owns a lane of each slot */
    if (!(s->lanes = calloc(s->nlanes, sizeof *s->lanes)) ||
        !(s->threads = calloc((size_t)s->nthreads, sizeof *s->threads))) {
        byron_err_set(err, BYRON_ENOMEM, "out of memory");
        byron_sink_free(s);
        return NULL;
    }
    for (size_t i = 0; i < s->nlanes; i++) byron_lane_init(s, i);
    metrics_register(s, o->metrics);
    /* Each lane thread and the generation thread hold a cache client for their life. */
    if (byron_cache_reserve_clients(s->cache, s->nthreads + 1, err) != BYRON_OK) {
        byron_sink_free(s);
        return NULL;
    }
    return s;
}

byron_status_t byron_sink_start(byron_sink_t *s, byron_err_t *err) {
    if (s->started) return byron_err_set(err, BYRON_ESTATE, "the sink is already started");
    s->started = 1;
    for (int t = 0; t < s->nthreads; t++) {
        byron_lane_thread_arg_t *ta = malloc(sizeof *ta);
        if (!ta) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        ta->s = s;
        ta->index = t;
        if (pthread_create(&s->threads[t], NULL, byron_lane_thread, ta) != 0) {
            free(ta);
            return byron_err_set(err, BYRON_EIO, "cannot start the sink's lane threads");
        }
        s->nstarted = t + 1; /* what stop joins */
    }
    if (pthread_create(&s->control, NULL, byron_generations_thread, s) != 0)
        return byron_err_set(err, BYRON_EIO, "cannot start the sink's generation thread");
    s->control_started = 1;
    return BYRON_OK;
}

void byron_sink_stop(byron_sink_t *s) {
    if (!s || s->stopped) return;
    s->stopped = 1;
    atomic_store(&s->stop, 1);
    if (s->control_started) pthread_join(s->control, NULL);
    for (int t = 0; t < s->nstarted; t++) pthread_join(s->threads[t], NULL);
    if (s->started) byron_stream_flush(s->stream, 1000); /* the last acks */
}

void byron_sink_free(byron_sink_t *s) {
    if (!s) return;
    byron_sink_stop(s);
    free(s->threads);
    free(s->dead_known);
    byron_projection_free(s->proj[0]);
    byron_projection_free(s->proj[1]);
    for (size_t i = 0; s->lanes && i < s->nlanes; i++) pthread_mutex_destroy(&s->lanes[i].lock);
    free(s->lanes);
    pthread_mutex_destroy(&s->index_lock);
    free(s);
}

void byron_sink_readiness(byron_sink_t *s, json_object *checks, int *ready) {
    int own_ok = 1, sub_ok = 1;
    char own_err[512] = "", sub_err[512] = "";
    int live = atomic_load(&s->live_slot);
    for (size_t i = (size_t)live * s->per; i < (size_t)(live + 1) * s->per; i++) {
        lane_t *l = &s->lanes[i];
        pthread_mutex_lock(&l->lock);
        int *ok = l->kind == LANE_OWN ? &own_ok : &sub_ok;
        char *e = l->kind == LANE_OWN ? own_err : sub_err;
        if (!l->ok) {
            if (*ok) snprintf(e, 512, "%.200s: %.255s", l->durable, l->err);
            *ok = 0;
        }
        pthread_mutex_unlock(&l->lock);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(own_ok));
    if (!own_ok) json_object_object_add(o, "error", json_object_new_string(own_err));
    json_object_object_add(checks, "sink", o);
    if (s->comp->nsubscriptions) {
        o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(sub_ok));
        json_object_object_add(o, "blocking", json_object_new_boolean(0));
        if (!sub_ok) json_object_object_add(o, "error", json_object_new_string(sub_err));
        json_object_object_add(checks, "subscriptions", o);
    }
    if (!own_ok) *ready = 0;
}
