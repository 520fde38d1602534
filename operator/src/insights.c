/* insights.c — status and conditions from a broker reading (insights.h). */
#include "insights.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void byron_insights_conditions(const byron_broker_insights_t *in, const byron_insights_thresholds_t *t,
                               const char *component, byron_insight_condition_t out[2]) {
    out[0].type = "Lagging";
    out[1].type = "DeadLetters";
    if (!in || !in->measured) {
        for (int i = 0; i < 2; i++) {
            out[i].status = -1;
            out[i].reason = BYRON_REASON_NOT_MEASURED;
            snprintf(out[i].message, sizeof out[i].message, "%s%s",
                     in && in->error[0] ? "the broker did not answer: " : "not read from the broker yet",
                     in && in->error[0] ? in->error : "");
        }
        return;
    }
    int behind = in->lag > t->lag;
    out[0].status = behind;
    out[0].reason = behind ? BYRON_REASON_SINK_BEHIND : BYRON_REASON_SINK_CAUGHT_UP;
    snprintf(out[0].message, sizeof out[0].message,
             "the sink has %" PRId64 " event%s left to project (threshold %" PRId64 ")%s", in->lag,
             in->lag == 1 ? "" : "s", t->lag,
             behind ? ": raise sink replicas, or look for a slow app or cache" : "");
    int open = in->dead_letters >= t->dead_letters;
    out[1].status = open;
    out[1].reason = open ? BYRON_REASON_DEAD_LETTERS : BYRON_REASON_NO_DEAD_LETTERS;
    if (open)
        snprintf(out[1].message, sizeof out[1].message,
                 "%" PRId64 " dead letter%s wait%s for a decision: kubectl byron dlq list %s",
                 in->dead_letters, in->dead_letters == 1 ? "" : "s", in->dead_letters == 1 ? "s" : "",
                 component);
    else
        snprintf(out[1].message, sizeof out[1].message,
                 "%" PRId64 " open dead letter%s (threshold %" PRId64 ")", in->dead_letters,
                 in->dead_letters == 1 ? "" : "s", t->dead_letters);
}

void byron_insights_status(json_object *st, const byron_broker_insights_t *in) {
    if (!in || !in->time[0] || (!in->measured && !in->stream[0])) return;
    if (!in->measured) return; /* the last figures stay where they are: a merge patch keeps them */
    json_object *s = json_object_new_object(), *sink = NULL;
    json_object_object_add(s, "name", json_object_new_string(in->stream));
    json_object_object_add(s, "messages", json_object_new_int64(in->messages));
    json_object_object_add(s, "bytes", json_object_new_int64(in->bytes));
    json_object_object_add(s, "replicas", json_object_new_int64(in->replicas));
    json_object_object_add(s, "time", json_object_new_string(in->time));
    json_object_object_add(st, "stream", s);
    if (json_object_object_get_ex(st, "sink", &sink))
        json_object_object_add(sink, "lag", json_object_new_int64(in->lag));
    json_object_object_add(st, "deadLetters", json_object_new_int64(in->dead_letters));
}

/* The phase from the generations the sink's lanes project. */
static const char *rebuild_phase(const byron_broker_insights_t *in, int64_t generation, int64_t *projected,
                                 int64_t *total) {
    *total = in->messages;
    if (in->gen_max < generation) {
        *projected = 0;
        return "Pending";
    }
    if (in->gen_min < in->gen_max) {
        *projected = in->messages > in->rebuild_left ? in->messages - in->rebuild_left : 0;
        return "Building";
    }
    *projected = in->messages;
    return "Complete";
}

void byron_insights_rebuild(json_object *st, json_object *old_status, int64_t generation, const char *token,
                            const byron_broker_insights_t *in) {
    json_object *old = json_object_object_get(old_status, "rebuild");
    if (!token && generation == 0 && !old) return;
    const char *requested = token ? token : json_object_get_string(json_object_object_get(old, "requested"));
    int same = old && json_object_get_int64(json_object_object_get(old, "generation")) == generation;
    const char *phase = "Pending";
    int64_t projected = 0, total = 0;
    if (in && in->measured && in->gen_max >= 0) {
        phase = rebuild_phase(in, generation, &projected, &total);
    } else if (same && json_object_object_get(old, "phase")) { /* not read: the last report stays */
        phase = json_object_get_string(json_object_object_get(old, "phase"));
        projected = json_object_get_int64(json_object_object_get(old, "projected"));
        total = json_object_get_int64(json_object_object_get(old, "total"));
    }
    char msg[200];
    if (!strcmp(phase, "Pending"))
        snprintf(msg, sizeof msg, "cache generation %" PRId64 ": waiting for the sink to start it",
                 generation);
    else if (!strcmp(phase, "Building") && projected < total)
        snprintf(msg, sizeof msg,
                 "cache generation %" PRId64 ": the api reads the previous one until this one has caught up",
                 generation);
    else if (!strcmp(phase, "Building")) /* the sink switches, then keeps the old one for its grace period */
        snprintf(msg, sizeof msg,
                 "cache generation %" PRId64
                 " has caught up: the api reads it once the sink switches; the old "
                 "one goes after the grace period",
                 generation);
    else
        snprintf(msg, sizeof msg, "the api reads cache generation %" PRId64, generation);
    json_object *r = json_object_new_object();
    if (requested) json_object_object_add(r, "requested", json_object_new_string(requested));
    json_object_object_add(r, "generation", json_object_new_int64(generation));
    json_object_object_add(r, "phase", json_object_new_string(phase));
    json_object_object_add(r, "projected", json_object_new_int64(projected));
    json_object_object_add(r, "total", json_object_new_int64(total));
    json_object_object_add(r, "message", json_object_new_string(msg));
    json_object_object_add(st, "rebuild", r);
}
