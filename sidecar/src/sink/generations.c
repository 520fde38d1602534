/* generations.c — the generation thread (generation.h, docs/sink.md
 * "Rebuild"): reads the cache's generation pointer, starts the live lanes, and
 * with a wanted generation above the live one builds it beside them in the
 * other slot, switches the pointer once it has caught up, and drops the old
 * one after the grace period; a sink of an older roll follows a switch. */
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

#define NFIELDS(a) (sizeof(a) / sizeof(a)[0])

/* Enable the lanes of a slot for generation gen (their names, projection). */
static byron_status_t slot_enable(byron_sink_t *s, int slot, int64_t gen, byron_err_t *err) {
    if (!s->proj[slot] &&
        !(s->proj[slot] = byron_projection_new(s->comp, s->o.database, gen, s->o.app, s->o.defer_ms, err)))
        return err->code;
    byron_projection_count_reads(s->proj[slot], s->m.cache_reads);
    for (size_t i = (size_t)slot * s->per; i < (size_t)(slot + 1) * s->per; i++) {
        lane_t *l = &s->lanes[i];
        l->gen = gen;
        l->proj = s->proj[slot];
        atomic_store(&l->enabled, 1); /* publishes the fields above to the lane's thread */
    }
    return BYRON_OK;
}

/* Retire a slot's lanes and wait until their threads let go of them. */
static void slot_retire(byron_sink_t *s, int slot) {
    for (size_t i = (size_t)slot * s->per; i < (size_t)(slot + 1) * s->per; i++)
        atomic_store(&s->lanes[i].retired, 1);
    for (size_t i = (size_t)slot * s->per; i < (size_t)(slot + 1) * s->per && !atomic_load(&s->stop); i++)
        while (!atomic_load(&s->lanes[i].parked) && !atomic_load(&s->stop)) byron_sink_sleep_ms(s, 20);
}

/* Delete a slot's durables (its lanes' names; none bound here). */
static byron_status_t slot_delete_durables(byron_sink_t *s, int slot, byron_err_t *err) {
    for (size_t i = (size_t)slot * s->per; i < (size_t)(slot + 1) * s->per; i++)
        if (byron_stream_consumer_delete(s->stream, s->lanes[i].stream, s->lanes[i].durable, err) != BYRON_OK)
            return err->code;
    return BYRON_OK;
}

/* How far the rebuild's lanes (slot b) are: *remaining events not yet
 * settled, *total events in their streams; *caught_up when each is within
 * `slack` events of its live twin (the same filter; 1: one event in flight). */
static byron_status_t build_progress(byron_sink_t *s, int b, int64_t slack, int64_t *remaining,
                                     int64_t *total, int *caught_up, byron_err_t *err) {
    *remaining = *total = 0;
    *caught_up = 1;
    for (size_t k = 0; k < s->per; k++) {
        lane_t *l = &s->lanes[(size_t)b * s->per + k], *twin = &s->lanes[(size_t)!b * s->per + k];
        int64_t left[2] = {0, 0};
        for (int w = 0; w < 2; w++) {
            const lane_t *x = w ? twin : l;
            byron_stream_consumer_info_t ci;
            byron_err_t e = {0};
            byron_status_t st = byron_stream_consumer_info(s->stream, x->stream, x->durable, &ci, &e);
            if (st == BYRON_OK) {
                left[w] = ci.pending + ci.ack_pending;
            } else if (ci.stream_missing) { /* a subscribed component not deployed: nothing to do */
            } else if (!w) {                /* not created yet (or NATS away): not caught up */
                *caught_up = 0;
                if (st != BYRON_ENOTFOUND) return byron_err_set(err, st, "%s", e.msg);
            }
        }
        *remaining += left[0];
        if (left[0] > left[1] + slack) *caught_up = 0;
        if (k == 0 || l->kind == LANE_SUB) { /* each stream once: the own one with its first lane */
            int64_t msgs = 0;
            byron_err_t e = {0};
            if (byron_stream_messages(s->stream, l->stream, &msgs, &e) == BYRON_OK) *total += msgs;
        }
    }
    return BYRON_OK;
}

static void set_gauge(byron_metric_t *m, double v) {
    if (m) byron_metric_set(m, NULL, v);
}

/* The pointer, read again until it answers (or the sink stops). */
static int read_pointer(byron_sink_t *s, mongoc_client_t *cl, byron_generation_pointer_t *p) {
    for (int64_t delay = 200; !atomic_load(&s->stop); delay = delay < 5000 ? delay * 2 : 5000) {
        byron_err_t e = {0};
        if (byron_generation_read(cl, s->o.database, p, &e) == BYRON_OK) return 1;
        byron_log(BYRON_LOG_WARN, "sink: cannot read the cache generation", "error", e.msg, (char *)NULL);
        byron_sink_sleep_ms(s, delay);
    }
    return 0;
}

/* Retry a step that needs NATS or the cache until it succeeds (or the sink stops). */
#define RETRY(s, what, call)                                                                                 \
    for (int64_t delay_ = 200; !atomic_load(&(s)->stop); delay_ = delay_ < 5000 ? delay_ * 2 : 5000) {       \
        byron_err_t e_ = {0};                                                                                \
        byron_err_t *err = &e_;                                                                              \
        if ((call) == BYRON_OK) break;                                                                       \
        byron_log(BYRON_LOG_WARN, "sink rebuild: " what ": will retry", "error", e_.msg, (char *)NULL);      \
        byron_sink_sleep_ms(s, delay_);                                                                      \
    }

/* Wait until the wall clock reaches at_ms (or the sink stops). */
static void sleep_until_wall(byron_sink_t *s, int64_t at_ms) {
    for (;;) {
        int64_t now = (int64_t)(byron_clock_real_s() * 1000.0);
        if (now >= at_ms || atomic_load(&s->stop)) return;
        byron_sink_sleep_ms(s, at_ms - now > 500 ? 500 : at_ms - now);
    }
}

/* After a switch, once every api has moved (the grace period): the old
 * generation's lanes stop, its durables and collections go, the pointer
 * forgets it. Every replica does it; each step is idempotent. */
static void drop_retired(byron_sink_t *s, mongoc_client_t *cl, int64_t gen, int slot, int64_t switched_at,
                         int64_t abandoned) {
    sleep_until_wall(s, switched_at + s->o.grace_ms);
    if (atomic_load(&s->stop)) return;
    slot_retire(s, slot);
    char g[24];
    snprintf(g, sizeof g, "%lld", (long long)gen);
    RETRY(s, "deleting the old generation's consumers", slot_delete_durables(s, slot, err));
    RETRY(s, "dropping the old generation", byron_generation_drop(cl, s->o.database, s->comp, gen, err));
    if (abandoned > 0 && abandoned != gen)
        RETRY(s, "dropping an abandoned rebuild",
              byron_generation_drop(cl, s->o.database, s->comp, abandoned, err));
    const byron_generation_field_t set[] = {{"retired", -1, 0}, {"abandoned", 0, 0}};
    RETRY(s, "recording the drop", byron_generation_set(cl, s->o.database, set, NFIELDS(set), err));
    if (!atomic_load(&s->stop))
        byron_log(BYRON_LOG_INFO, "sink rebuild: the old generation is dropped", "generation", g,
                  (char *)NULL);
}

/* The switch, once the rebuild (slot b) is within an event per lane of the
 * live generation a: this replica's live lanes stop first (no event in
 * flight), the rebuild's lanes finish what they had until each is at least as
 * far as its twin (≤ 10 s), then the pointer moves. No read after the switch
 * sees less than a read before it: the old generation stops where the new one
 * has already been. Returns the switch's wall-clock time. */
static int64_t switch_to(byron_sink_t *s, mongoc_client_t *cl, int64_t a, int64_t w, int b) {
    slot_retire(s, !b);
    int64_t remaining = 0, total = 0, until = byron_clock_mono_ms() + 10000;
    for (int caught_up = 0; !caught_up && !atomic_load(&s->stop);) {
        byron_err_t e = {0};
        if (build_progress(s, b, 0, &remaining, &total, &caught_up, &e) != BYRON_OK) caught_up = 0;
        if (!caught_up && byron_clock_mono_ms() > until) {
            byron_log(BYRON_LOG_WARN,
                      "sink rebuild: switching although a lane is behind its twin (another "
                      "replica still projects the old generation)",
                      (char *)NULL);
            break;
        }
        if (!caught_up) byron_sink_sleep_ms(s, 20);
    }
    int64_t now = (int64_t)(byron_clock_real_s() * 1000.0);
    const byron_generation_field_t set[] = {
        {"active", w, 0},       {"activeSlot", b, 1},   {"building", 0, 0},      {"retired", a, 0},
        {"retiredSlot", !b, 1}, {"switchedAt", now, 0}, {"projected", total, 0}, {"total", total, 0}};
    RETRY(s, "switching the api to the new generation",
          byron_generation_set(cl, s->o.database, set, NFIELDS(set), err));
    char g[24];
    snprintf(g, sizeof g, "%lld", (long long)w);
    byron_log(BYRON_LOG_INFO, "sink rebuild: caught up; the api reads the new generation", "generation", g,
              (char *)NULL);
    return atomic_load(&s->stop) ? 0 : now;
}

/* Build generation w into slot b beside the live one (a, slot !b) until it has
 * caught up, then switch the pointer. Returns the switch's wall-clock time, 0
 * when stopped first. */
static int64_t build(byron_sink_t *s, mongoc_client_t *cl, const byron_generation_pointer_t *p0, int64_t w,
                     int b) {
    char g[24];
    snprintf(g, sizeof g, "%lld", (long long)w);
    if (p0->building != w) { /* a new build: its slot's consumers start over (its collections are new) */
        RETRY(s, "deleting the rebuild slot's consumers", slot_delete_durables(s, b, err));
        const byron_generation_field_t set[] = {
            {"building", w, 0},
            {"buildingSlot", b, 1},
            {"projected", 0, 0},
            {"total", 0, 0},
            {"abandoned", p0->building != p0->active ? p0->building : 0, 0}};
        RETRY(s, "recording the rebuild", byron_generation_set(cl, s->o.database, set, NFIELDS(set), err));
        byron_log(BYRON_LOG_INFO, "sink rebuild: started", "generation", g, (char *)NULL);
    }
    RETRY(s, "reading the dead letters already stored", byron_dead_letter_load_known(s, err));
    for (size_t i = (size_t)b * s->per; i < (size_t)(b + 1) * s->per; i++) s->lanes[i].rebuild = 1;
    RETRY(s, "starting the rebuild's lanes", slot_enable(s, b, w, err));
    while (!atomic_load(&s->stop)) {
        byron_sink_sleep_ms(s, 1000);
        byron_generation_pointer_t p;
        byron_err_t e = {0};
        if (byron_generation_read(cl, s->o.database, &p, &e) != BYRON_OK) continue;
        if (p.active >= w) return p.switched_at; /* another replica switched */
        int64_t remaining = 0, total = 0;
        int caught_up = 0;
        if (build_progress(s, b, 1, &remaining, &total, &caught_up, &e) != BYRON_OK) continue;
        set_gauge(s->m.rebuild_pending, (double)remaining);
        if (caught_up) return switch_to(s, cl, p.active, w, b);
        const byron_generation_field_t set[] = {{"projected", total > remaining ? total - remaining : 0, 0},
                                                {"total", total, 0}};
        /* progress only: the next round writes it again */
        byron_generation_set(cl, s->o.database, set, NFIELDS(set), &e);
    }
    return 0;
}

/* A sink of an older roll (below the generation another sink switched to)
 * follows the pointer: its live lanes stop and the new generation's start
 * here, in their slot — two generations never move apart behind the api, and
 * no sink is left projecting a generation nobody reads. One small find per
 * second. A slot this sink used before (it built a generation itself) is not
 * taken again: such a sink is already rolling away. */
static void follow(byron_sink_t *s, mongoc_client_t *cl) {
    int warned = 0;
    while (!atomic_load(&s->stop)) {
        byron_sink_sleep_ms(s, 1000);
        int live = atomic_load(&s->live_slot);
        int64_t gen = s->lanes[(size_t)live * s->per].gen;
        byron_generation_pointer_t p;
        byron_err_t e = {0};
        if (byron_generation_read(cl, s->o.database, &p, &e) != BYRON_OK || p.active <= gen) continue;
        char g[24];
        snprintf(g, sizeof g, "%lld", (long long)p.active);
        if (p.active_slot == live || s->proj[p.active_slot]) {
            if (!warned++)
                byron_log(BYRON_LOG_WARN, "sink: the cache switched to a generation this sink cannot follow",
                          "generation", g, (char *)NULL);
            continue;
        }
        slot_retire(s, live);
        RETRY(s, "following the live generation", slot_enable(s, p.active_slot, p.active, err));
        atomic_store(&s->live_slot, p.active_slot);
        set_gauge(s->m.generation, (double)p.active);
        byron_log(BYRON_LOG_INFO, "sink: following the cache's new generation", "generation", g,
                  (char *)NULL);
    }
}

/* The generations (generation.h): reads the pointer, starts the live lanes,
 * and with a wanted generation above the live one builds it beside them,
 * switches, and drops the old one after the grace period. */
void *byron_generations_thread(void *arg) {
    byron_sink_t *s = arg;
    mongoc_client_t *cl = byron_cache_client_pop(s->cache);
    byron_generation_pointer_t p;
    if (!read_pointer(s, cl, &p)) goto out;
    int a = p.active_slot;
    int64_t w = s->o.generation;
    RETRY(s, "starting the live lanes", slot_enable(s, a, p.active, err));
    atomic_store(&s->live_slot, a);
    set_gauge(s->m.generation, (double)p.active);
    set_gauge(s->m.rebuild_pending, 0);
    if (w < p.active && w > 0) {
        char want[24], live[24];
        snprintf(want, sizeof want, "%lld", (long long)w);
        snprintf(live, sizeof live, "%lld", (long long)p.active);
        byron_log(BYRON_LOG_WARN, "sink: the cache is at a newer generation than wanted: projecting it",
                  "wanted", want, "generation", live, (char *)NULL);
    }
    if (w > p.active) {
        int64_t switched_at = build(s, cl, &p, w, !a);
        if (!switched_at) goto out;
        atomic_store(&s->live_slot, !a);
        slot_retire(s, a); /* switched by another replica: the old generation stops here too, now */
        set_gauge(s->m.generation, (double)w);
        set_gauge(s->m.rebuild_pending, 0);
        drop_retired(s, cl, p.active, a, switched_at, p.building != w ? p.building : 0);
    } else if (p.retired >= 0 && p.retired != p.active) { /* restarted within a switch's grace period */
        drop_retired(s, cl, p.retired, p.retired_slot, p.switched_at, p.abandoned);
    }
    follow(s, cl);
out:
    byron_cache_client_push(s->cache, cl);
    return NULL;
}
