/* dead_letter.c — the dead-letter stream's writes (docs/sink.md, "Dead
 * letters"): the stream ensured through stream.c, a dead letter's body (the
 * event, or a reference when it would not fit), its publish with
 * de-duplicating headers; and the dead letters a rebuild's lanes must not
 * store a second time. */
#include "byron/clock.h"
#include "byron/json.h"
#include "byron/log.h"
#include "dlq.h"
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

/* The dead-letter stream, ensured through the sidecar's one stream layer
 * (stream.c: the operator's, with NATS users; else created on first use). */
byron_status_t byron_dead_letter_ensure_stream(byron_sink_t *s, byron_err_t *err) {
    return byron_stream_ensure_dlq(s->stream, err);
}

/* The dead letter's payload: the event with why it could not be projected;
 * when that would not fit in one message (an event near the payload limit
 * plus this metadata), a reference to it instead (stream, sequence), which
 * the stream still holds. Caller puts. */
static json_object *dead_letter_body(const lane_t *l, natsMsg *msg, const jsMsgMetaData *meta,
                                     const char *why, int by_reference) {
    json_object *o = json_object_new_object(), *ev = NULL;
    byron_err_t pe;
    const char *data = natsMsg_GetData(msg);
    int len = natsMsg_GetDataLength(msg);
    char ts[40];
    byron_time_now_rfc3339(ts, sizeof ts);
    json_object_object_add(o, "error", json_object_new_string(why));
    json_object_object_add(o, "stream", json_object_new_string(l->stream));
    json_object_object_add(o, "sequence", json_object_new_int64((int64_t)meta->Sequence.Stream));
    json_object_object_add(o, "subject", json_object_new_string(natsMsg_GetSubject(msg)));
    json_object_object_add(o, "consumer", json_object_new_string(l->durable));
    json_object_object_add(o, "deliveries", json_object_new_int64((int64_t)meta->NumDelivered));
    json_object_object_add(o, "time", json_object_new_string(ts));
    if (by_reference)
        json_object_object_add(o, "reference", json_object_new_boolean(1));
    else if (data && byron_json_parse(data, (size_t)len, 64, &ev, &pe) == BYRON_OK)
        json_object_object_add(o, "event", ev);
    else
        json_object_object_add(o, "raw", json_object_new_string_len(data ? data : "", data ? len : 0));
    return o;
}

byron_status_t byron_dead_letter_publish(byron_sink_t *s, lane_t *l, natsMsg *msg, const jsMsgMetaData *meta,
                                         const char *why, byron_err_t *err) {
    if (byron_dead_letter_ensure_stream(s, err) != BYRON_OK) return err->code;
    char subj[400], msgid[256], seq[24], hwhy[200];
    snprintf(seq, sizeof seq, "%" PRIu64, meta->Sequence.Stream);
    snprintf(subj, sizeof subj, "%s.%s", s->dlq_prefix, l->kind == LANE_OWN ? "own" : "sub");
    snprintf(msgid, sizeof msgid, "dlq:%s:%s", l->stream, seq);
    snprintf(hwhy, sizeof hwhy, "%.199s", why);
    for (char *p = hwhy; *p; p++)
        if (*p == '\r' || *p == '\n') *p = ' ';
    json_object *o = dead_letter_body(l, msg, meta, why, 0);
    const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    /* Headers and framing fit in 2 KiB (the reason is cut to 199 bytes). */
    if ((int64_t)strlen(txt) + 2048 > byron_stream_max_payload(s->stream)) {
        json_object_put(o);
        o = dead_letter_body(l, msg, meta, why, 1);
        txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    }
    const char *const headers[] = {
        "Nats-Msg-Id", msgid, "Byron-Dlq-Error", hwhy, "Byron-Dlq-Stream", l->stream, "Byron-Dlq-Sequence",
        seq,           NULL};
    byron_err_t pe = {0};
    byron_status_t st = byron_stream_publish_headers(s->stream, subj, txt, strlen(txt), headers, &pe);
    json_object_put(o);
    if (st != BYRON_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "publishing to %s: %s", s->dlq_stream, pe.msg);
    return BYRON_OK;
}

static int dead_known_cmp(const void *a, const void *b) {
    const struct dead_known *x = a, *y = b;
    int c = strcmp(x->stream, y->stream);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

int byron_dead_letter_known(const byron_sink_t *s, const char *stream, uint64_t seq) {
    struct dead_known key = {.seq = seq};
    snprintf(key.stream, sizeof key.stream, "%s", stream);
    return s->ndead_known && bsearch(&key, s->dead_known, s->ndead_known, sizeof key, dead_known_cmp) != NULL;
}

/* The events the DLQ holds a dead letter of (not replayed), for a rebuild's
 * lanes. A DLQ beyond BYRON_DLQ_MAX_RECORDS is not read: its duplicates are
 * then only deduplicated within the DLQ's window (logged). */
byron_status_t byron_dead_letter_load_known(byron_sink_t *s, byron_err_t *err) {
    byron_dlq_t dlq;
    byron_status_t st = byron_dlq_read(byron_stream_jetstream(s->stream), s->comp, &dlq, err);
    if (st == BYRON_ELIMIT) {
        byron_log(BYRON_LOG_WARN,
                  "rebuild: the dead-letter stream is too long to read: a dead letter may be stored twice",
                  "error", err->msg, (char *)NULL);
        return BYRON_OK;
    }
    if (st != BYRON_OK) return st;
    free(s->dead_known);
    s->ndead_known = 0;
    if (dlq.n && !(s->dead_known = calloc(dlq.n, sizeof *s->dead_known))) {
        byron_dlq_cleanup(&dlq);
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < dlq.n; i++) {
        if (dlq.entries[i].state == BYRON_DLQ_REPLAYED) continue; /* in the cache: project it as the rest */
        struct dead_known *k = &s->dead_known[s->ndead_known++];
        snprintf(k->stream, sizeof k->stream, "%s", dlq.entries[i].info.stream);
        k->seq = dlq.entries[i].info.sequence;
    }
    byron_dlq_cleanup(&dlq);
    if (s->ndead_known) qsort(s->dead_known, s->ndead_known, sizeof *s->dead_known, dead_known_cmp);
    return BYRON_OK;
}
