/* lane.c — a lane: its names (the own stream's partition or a subscription,
 * in one of two generation slots) and its state for /readyz; and the lane
 * threads' loop: bind what is unbound (consumer.c, with backoff), fetch one
 * message per lane, settle it (settle.c), back off when every lane is idle. */
#include "byron/clock.h"
#include "byron/log.h"
#include "generation.h"
#include "sink_internal.h"

#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void lane_set(lane_t *l, int ok, const char *msg) {
    pthread_mutex_lock(&l->lock);
    int was = l->ok;
    l->ok = ok;
    /* The readiness text keeps the start of a long message. */
    if (snprintf(l->err, sizeof l->err, "%s", ok ? "" : msg) >= (int)sizeof l->err)
        l->err[sizeof l->err - 1] = '\0';
    pthread_mutex_unlock(&l->lock);
    if (was != ok)
        byron_log(ok ? BYRON_LOG_INFO : BYRON_LOG_WARN, ok ? "sink lane up" : "sink lane down", "stream",
                  l->stream, "consumer", l->durable, "error", ok ? "" : msg, (char *)NULL);
}

/* Lane i's names: slot i / per, the own stream's partition or a subscription. */
void byron_lane_init(byron_sink_t *s, size_t i) {
    lane_t *l = &s->lanes[i];
    size_t k = i % s->per;
    char base[160];
    pthread_mutex_init(&l->lock, NULL);
    l->slot = (int)(i / s->per);
    if (k < (size_t)s->comp->partitions) {
        l->kind = LANE_OWN;
        l->partition = (int)k;
        snprintf(l->stream, sizeof l->stream, "%s", s->comp->stream);
        snprintf(base, sizeof base, BYRON_SINK_DURABLE_FMT, (int)k);
        byron_generation_durable(l->slot, base, l->durable, sizeof l->durable);
        snprintf(l->filter, sizeof l->filter, "%s.%d.>", s->comp->subject_prefix, (int)k);
    } else {
        const byron_subscription_t *sd = &s->comp->subscriptions[k - (size_t)s->comp->partitions];
        l->kind = LANE_SUB;
        l->subdef = sd;
        snprintf(l->stream, sizeof l->stream, "BYRON_%s_%s", sd->namespace_, sd->component);
        for (char *p = l->stream; *p; p++)
            if (*p == '-') *p = '_';
        byron_sink_subscription_durable(s->comp, base, sizeof base);
        byron_generation_durable(l->slot, base, l->durable, sizeof l->durable);
        /* Exactly the aggregate subjects (6 tokens): not the other component's unique claims. */
        snprintf(l->filter, sizeof l->filter, "byron.%s.%s.*.*.*", sd->namespace_, sd->component);
    }
    snprintf(l->err, sizeof l->err, "starting");
}

/* Consumer lag while idle: the pending count from the server now and then. */
static void refresh_pending(byron_sink_t *s, lane_t *l) {
    int64_t now = byron_clock_mono_ms();
    if (!s->m.pending || now < l->next_info_ms) return;
    l->next_info_ms = now + 5000;
    byron_stream_consumer_info_t ci;
    byron_err_t e = {0};
    if (byron_stream_consumer_info(s->stream, l->stream, l->durable, &ci, &e) == BYRON_OK) {
        const char *v[] = {l->durable};
        byron_metric_set(s->m.pending, v, (double)ci.pending);
    }
}

/* Let go of thread t's retired lanes (a generation dropped); how many of its lanes are active. */
static int park_retired(byron_sink_t *s, int t) {
    int active = 0;
    for (size_t i = (size_t)t; i < s->nlanes; i += (size_t)s->nthreads) {
        lane_t *l = &s->lanes[i];
        if (atomic_load(&l->retired) && !atomic_load(&l->parked)) {
            byron_consumer_unbind(l);
            atomic_store(&l->parked, 1);
        }
        active += atomic_load(&l->enabled) && !atomic_load(&l->retired);
    }
    return active;
}

/* Bind an unbound lane when its backoff (200 ms doubling to 5 s) allows; whether it is bound. */
static int bind_when_due(byron_sink_t *s, lane_t *l, mongoc_client_t *cl) {
    if (l->sub) return 1;
    int64_t now = byron_clock_mono_ms();
    if (now < l->next_setup_ms) return 0;
    byron_err_t err = {0};
    if (byron_consumer_bind(s, l, cl, &err) != BYRON_OK) {
        lane_set(l, 0, err.msg);
        l->setup_delay_ms = l->setup_delay_ms ? l->setup_delay_ms * 2 : 200;
        if (l->setup_delay_ms > 5000) l->setup_delay_ms = 5000;
        l->next_setup_ms = now + l->setup_delay_ms;
        return 0;
    }
    l->setup_delay_ms = 0;
    lane_set(l, 1, "");
    return 1;
}

/* One fetch from a bound lane (a long poll ≤ 0.5 s when it is the thread's
 * only lane: shutdown stays prompt), its message settled. Returns 1 when a
 * message came, sets *waited when a long poll waited out its time. */
static int fetch_one(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, int single, int *waited) {
    natsMsg *msg = NULL;
    byron_err_t fe = {0};
    byron_status_t st = byron_stream_fetch(l->sub, single ? 500 : 0, &msg, &fe);
    if (st == BYRON_OK) {
        byron_settle_msg(s, l, cl, msg, single);
        natsMsg_Destroy(msg);
        return 1;
    }
    if (st == BYRON_ETIMEDOUT || st == BYRON_ENOTFOUND) {
        *waited |= single && st == BYRON_ETIMEDOUT;
        refresh_pending(s, l);
    } else if (st == BYRON_ESTATE) {
        byron_consumer_unbind(l);
    } else if (byron_stream_connected(s->stream)) {
        /* e.g. the consumer was deleted (a rebuild elsewhere): bind again */
        byron_stream_consumer_info_t ci;
        byron_err_t ie = {0};
        if (byron_stream_consumer_info(s->stream, l->stream, l->durable, &ci, &ie) != BYRON_OK) {
            lane_set(l, 0, fe.msg);
            byron_consumer_unbind(l);
        }
    }
    return 0;
}

/* A thread with one lane long-polls it (the server answers as soon as an
 * event is available: no polling when idle); a thread with several polls them
 * round-robin without waiting, and backs off when all are empty. */
void *byron_lane_thread(void *arg) {
    byron_lane_thread_arg_t *ta = arg;
    byron_sink_t *s = ta->s;
    int t = ta->index;
    free(ta);
    mongoc_client_t *cl = byron_cache_client_pop(s->cache);
    int64_t idle = 0;
    while (!atomic_load(&s->stop)) {
        int got = 0, waited = 0;
        int single = park_retired(s, t) == 1;
        for (size_t i = (size_t)t; i < s->nlanes && !atomic_load(&s->stop); i += (size_t)s->nthreads) {
            lane_t *l = &s->lanes[i];
            if (!atomic_load(&l->enabled) || atomic_load(&l->retired) || !bind_when_due(s, l, cl)) continue;
            got += fetch_one(s, l, cl, single, &waited);
        }
        if (got || waited) {
            idle = 0; /* a long poll already waited */
        } else {      /* nothing anywhere: back off a little (latency ≤ 100 ms when idle) */
            idle = idle ? idle * 2 : 5;
            if (idle > 100) idle = 100;
            byron_sink_sleep_ms(s, idle);
        }
    }
    for (size_t i = (size_t)t; i < s->nlanes; i += (size_t)s->nthreads) byron_consumer_unbind(&s->lanes[i]);
    byron_cache_client_push(s->cache, cl);
    return NULL;
}
