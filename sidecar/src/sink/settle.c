/* settle.c — one delivered message: the projection decides (projection.h),
 * this file settles — ack, NAK with a growing delay, or a dead letter then
 * terminate — and counts the outcome. An unavailable cache or app is not the
 * event's fault: NAK, never dead-letter. */
#include "byron/clock.h"
#include "byron/log.h"
#include "envelope.h"
#include "sink_internal.h"

#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void count(byron_sink_t *s, const char *type, const char *outcome) {
    if (!s->m.events) return;
    const char *v[] = {type ? type : "", outcome};
    byron_metric_add(s->m.events, v, 1);
}

static int64_t nak_delay(byron_sink_t *s, uint64_t deliveries) {
    int64_t delay = s->o.retry_ms;
    for (uint64_t i = 1; i < deliveries && delay < NAK_MAX_MS; i++) delay *= 2;
    return delay > NAK_MAX_MS ? NAK_MAX_MS : delay;
}

/* A dead letter for an event that cannot be projected (projection.h says what
 * then happens to its aggregate), then the event is terminated. A dead letter
 * that cannot be stored is retried, at most dlq_attempts deliveries; then the
 * event is terminated anyway — counted and logged, the partition never stalls. */
static const char *settle_dead(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, natsMsg *msg,
                               const jsMsgMetaData *meta, const byron_proj_msg_t *pm, byron_proj_result_t r,
                               const char *type, const char *why) {
    byron_err_t de = {0};
    char seq[24], n[24];
    snprintf(seq, sizeof seq, "%" PRIu64, meta->Sequence.Stream);
    snprintf(n, sizeof n, "%" PRIu64, meta->NumDelivered);
    int known = l->rebuild && byron_dead_letter_known(s, l->stream, meta->Sequence.Stream);
    if (known)
        byron_log(BYRON_LOG_INFO, "rebuild: the event's dead letter is already stored", "stream", l->stream,
                  "sequence", seq, "type", type, "error", why, (char *)NULL);
    int stored = known || byron_dead_letter_publish(s, l, msg, meta, why, &de) == BYRON_OK;
    int give_up = !stored && (int64_t)meta->NumDelivered >= s->o.dlq_attempts;
    if ((stored || give_up) && byron_projection_dead_lettered(l->proj, cl, pm, r, why, &de) == BYRON_OK) {
        natsMsg_Term(msg, NULL);
        if (stored) {
            byron_log(BYRON_LOG_ERROR, "event dead-lettered", "stream", l->stream, "sequence", seq, "type",
                      type, "deliveries", n, "error", why, "dlq", s->dlq_stream, (char *)NULL);
            return "dead_lettered";
        }
        if (s->m.dlq_failures) byron_metric_add(s->m.dlq_failures, NULL, 1);
        byron_log(BYRON_LOG_ERROR, "event terminated: its dead letter could not be stored", "stream",
                  l->stream, "sequence", seq, "type", type, "deliveries", n, "error", why, "dlq_error",
                  de.msg, (char *)NULL);
        return "dead_letter_failed";
    }
    byron_log(BYRON_LOG_ERROR, "cannot dead-letter an event: will retry", "stream", l->stream, "sequence",
              seq, "error", de.msg, (char *)NULL);
    natsMsg_NakWithDelay(msg, nak_delay(s, meta->NumDelivered), NULL);
    return "failed";
}

/* Project one message and settle it (ack / NAK with delay / dead-letter + term). */
void byron_settle_msg(byron_sink_t *s, lane_t *l, mongoc_client_t *cl, natsMsg *msg, int next_fetch_waits) {
    int64_t t0 = byron_clock_mono_ms();
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) !=
        NATS_OK) { /* not a JetStream delivery: cannot happen on a pull lane */
        natsMsg_Nak(msg, NULL);
        return;
    }
    if (s->m.pending) {
        const char *v[] = {l->durable};
        byron_metric_set(s->m.pending, v, (double)meta->NumPending);
    }
    const char *hv = NULL;
    if (natsMsgHeader_Get(msg, BYRON_HDR_VERSION, &hv) != NATS_OK) hv = NULL;
    byron_proj_msg_t pm = {.sub = l->subdef,
                           .partition = l->partition,
                           .lane = l->durable,
                           .checkpoint = &l->checkpoint,
                           .stream = l->stream,
                           .subject = natsMsg_GetSubject(msg),
                           .seq = meta->Sequence.Stream,
                           .deliveries = meta->NumDelivered,
                           .stored_ns = meta->Timestamp,
                           .header_version = hv,
                           .data = natsMsg_GetData(msg),
                           .len = (size_t)natsMsg_GetDataLength(msg)};
    byron_err_t err = {0};
    char type[130];
    byron_proj_result_t r = byron_projection_apply(l->proj, cl, &pm, type, sizeof type, &err);
    const char *outcome = byron_proj_result_name(r);
    char why[BYRON_ERR_MSG_MAX];
    snprintf(why, sizeof why, "%s", err.msg[0] ? err.msg : "unknown error");
    switch (r) {
    case BYRON_PROJ_APPLIED:
    case BYRON_PROJ_SKIPPED:
    case BYRON_PROJ_UNHANDLED:
    case BYRON_PROJ_FILTERED: {
        /* With MaxAckPending 1 the lane's next event is released only once
         * the server has the ack. A lane whose next fetch long-polls needs no
         * more: the server holds that fetch until the ack lands, then answers
         * it. A lane polled without waiting acks synchronously, so that its
         * next fetch finds the event at once instead of coming back empty and
         * backing off. A lost ack only means a redelivery, which the guard
         * skips. */
        if (next_fetch_waits) {
            natsMsg_Ack(msg, NULL);
        } else {
            jsErrCode jerr = 0;
            natsMsg_AckSync(msg, NULL, &jerr);
        }
        break;
    }
    case BYRON_PROJ_UNAVAILABLE: /* not the event's fault: retry without counting towards the dead letter */
        natsMsg_NakWithDelay(
            msg, (int64_t)s->o.retry_ms * 4 > NAK_MAX_MS ? NAK_MAX_MS : (int64_t)s->o.retry_ms * 4, NULL);
        outcome = "failed";
        byron_log(BYRON_LOG_WARN, "event not projected: dependency unavailable", "type", type, "error",
                  err.msg, (char *)NULL);
        break;
    case BYRON_PROJ_DEFER: /* a newer model's event: a sink that knows it will take it */
        natsMsg_NakWithDelay(msg, nak_delay(s, meta->NumDelivered), NULL);
        byron_log(BYRON_LOG_INFO, "event deferred: written under a newer model", "type", type, "reason",
                  err.msg, (char *)NULL);
        break;
    case BYRON_PROJ_RETRY:
        if ((int64_t)meta->NumDelivered < s->o.max_deliver) {
            natsMsg_NakWithDelay(msg, nak_delay(s, meta->NumDelivered), NULL);
            outcome = "failed";
            byron_log(BYRON_LOG_WARN, "event not projected: will retry", "type", type, "error", err.msg,
                      (char *)NULL);
            break;
        }
        __attribute__((fallthrough)); /* it kept failing */
    case BYRON_PROJ_INVALID:
    case BYRON_PROJ_BLOCKED: outcome = settle_dead(s, l, cl, msg, meta, &pm, r, type, why); break;
    }
    count(s, type, outcome);
    if (s->m.latency && (r == BYRON_PROJ_APPLIED || r == BYRON_PROJ_UNHANDLED)) {
        byron_metric_observe(s->m.latency, NULL, (double)(byron_clock_mono_ms() - t0) / 1000.0);
        if (meta->Timestamp > 0 && s->m.age)
            byron_metric_observe(s->m.age, NULL, byron_clock_real_s() - (double)meta->Timestamp / 1e9);
    }
    jsMsgMetaData_Destroy(meta);
}
