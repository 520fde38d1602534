/* insights.c — status and conditions from a broker reading (insights.h). */
#include "insights.h"

#include <inttypes.h>
#include <stdio.h>

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
