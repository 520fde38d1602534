/* dlq.c — the dead-letter stream's records and their resolutions (dlq.h). */
#include "dlq.h"

#include "byron/jetstream.h"
#include "byron/json.h"
#include "envelope.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *byron_dlq_state_name(byron_dlq_state_t s) {
    switch (s) {
    case BYRON_DLQ_REPLAYED: return "replayed";
    case BYRON_DLQ_DROPPED: return "dropped";
    default: return "open";
    }
}

static const char *header(natsMsg *m, const char *key) {
    const char *v = NULL;
    return natsMsgHeader_Get(m, key, &v) == NATS_OK ? v : NULL;
}

void byron_dlq_classify(const byron_component_t *c, natsMsg *m, byron_dlq_msg_info_t *out) {
    memset(out, 0, sizeof *out);
    byron_jetstream_names_t n;
    const char *subject = natsMsg_GetSubject(m), *hs = header(m, JSSubject);
    if (hs && *hs) subject = hs; /* a direct get's answer names the stored subject in its headers */
    if (!subject || byron_jetstream_names(c->namespace_, c->component, &n)) return;
    size_t pl = strlen(n.dlq_prefix);
    if (strncmp(subject, n.dlq_prefix, pl) != 0 || subject[pl] != '.') return;
    const char *tail = subject + pl + 1, *stream = header(m, BYRON_DLQ_HDR_STREAM),
               *sseq = header(m, BYRON_DLQ_HDR_SEQUENCE);
    char *end = NULL;
    errno = 0;
    unsigned long long seq = sseq ? strtoull(sseq, &end, 10) : 0;
    if (!stream || !*stream || strlen(stream) >= sizeof out->stream || !sseq || errno || !end || *end || !seq)
        return;
    snprintf(out->stream, sizeof out->stream, "%s", stream);
    out->sequence = (uint64_t)seq;
    if (!strcmp(tail, "own") || !strcmp(tail, "sub")) {
        out->kind = BYRON_DLQ_KIND_DEAD_LETTER;
        out->own = tail[0] == 'o';
    } else if (!strcmp(tail, BYRON_DLQ_RESOLVED_TOKEN)) {
        const char *r = header(m, BYRON_DLQ_HDR_RESOLUTION);
        if (r && !strcmp(r, "replayed"))
            out->resolution = BYRON_DLQ_REPLAYED;
        else if (r && !strcmp(r, "dropped"))
            out->resolution = BYRON_DLQ_DROPPED;
        else
            return; /* a resolution we do not know: ignored, never guessed */
        out->kind = BYRON_DLQ_KIND_RESOLUTION;
    }
}

void byron_dlq_cleanup(byron_dlq_t *d) {
    for (size_t i = 0; i < d->n; i++) json_object_put(d->entries[i].body);
    free(d->entries);
    memset(d, 0, sizeof *d);
}

byron_dlq_entry_t *byron_dlq_find(byron_dlq_t *d, uint64_t dlq_seq) {
    for (size_t i = 0; i < d->n; i++)
        if (d->entries[i].dlq_seq == dlq_seq) return &d->entries[i];
    return NULL;
}

typedef struct resolution {
    char stream[192];
    uint64_t sequence;
    byron_dlq_state_t state;
} resolution_t;

/* What a read gathers: the dead letters (into out) and the decisions on them. */
typedef struct {
    byron_dlq_t *out;
    size_t cap;
    resolution_t *res;
    size_t nres, capres;
} reading_t;

static byron_status_t keep_dead_letter(reading_t *rd, const byron_dlq_msg_info_t *info, natsMsg *m,
                                       uint64_t at, byron_err_t *err) {
    byron_dlq_t *out = rd->out;
    if (out->n == rd->cap) {
        size_t nc = rd->cap ? rd->cap * 2 : 16;
        byron_dlq_entry_t *ne = realloc(out->entries, nc * sizeof *ne);
        if (!ne) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        out->entries = ne;
        rd->cap = nc;
    }
    byron_dlq_entry_t *e = &out->entries[out->n++];
    memset(e, 0, sizeof *e);
    e->dlq_seq = at;
    e->info = *info;
    e->stored_ns = natsMsg_GetTime(m);
    byron_err_t pe = {0};
    const char *data = natsMsg_GetData(m);
    if (!data || byron_json_parse(data, (size_t)natsMsg_GetDataLength(m), 128, &e->body, &pe) != BYRON_OK ||
        !json_object_is_type(e->body, json_type_object)) {
        json_object_put(e->body); /* kept as a dead letter: its headers name the event */
        e->body = json_object_new_object();
        json_object_object_add(e->body, "unreadable", json_object_new_boolean(1));
    }
    return BYRON_OK;
}

static byron_status_t keep_resolution(reading_t *rd, const byron_dlq_msg_info_t *info, byron_err_t *err) {
    if (rd->nres == rd->capres) {
        size_t nc = rd->capres ? rd->capres * 2 : 16;
        resolution_t *nr = realloc(rd->res, nc * sizeof *nr);
        if (!nr) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        rd->res = nr;
        rd->capres = nc;
    }
    resolution_t *r = &rd->res[rd->nres++];
    snprintf(r->stream, sizeof r->stream, "%s", info->stream);
    r->sequence = info->sequence;
    r->state = info->resolution;
    return BYRON_OK;
}

/* A decision applies to every dead letter of its event, whichever came
 * first in the stream; replayed wins over dropped. O(dead letters ×
 * resolutions): both are few. */
static void apply_resolutions(reading_t *rd) {
    for (size_t i = 0; i < rd->out->n; i++) {
        byron_dlq_entry_t *e = &rd->out->entries[i];
        for (size_t k = 0; k < rd->nres; k++)
            if (rd->res[k].sequence == e->info.sequence && !strcmp(rd->res[k].stream, e->info.stream) &&
                (e->state == BYRON_DLQ_OPEN || rd->res[k].state == BYRON_DLQ_REPLAYED))
                e->state = rd->res[k].state;
    }
}

/* Every record once, in order, by sequence (STREAM.MSG.GET: a dead-letter
 * stream has no direct get). O(records) requests. */
byron_status_t byron_dlq_read(jsCtx *js, const byron_component_t *c, byron_dlq_t *out, byron_err_t *err) {
    memset(out, 0, sizeof *out);
    byron_jetstream_names_t n;
    if (byron_jetstream_names(c->namespace_, c->component, &n))
        return byron_err_set(err, BYRON_EINVAL, "%s/%s: names too long", c->namespace_, c->component);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetStreamInfo(&si, js, n.dlq_stream, NULL, &jerr);
    if (ns == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) return BYRON_OK; /* no dead letter ever */
    if (ns != NATS_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "stream %s: %s (JetStream error %d)", n.dlq_stream,
                             natsStatus_GetText(ns), (int)jerr);
    uint64_t last = si->State.LastSeq, first = si->State.FirstSeq;
    jsStreamInfo_Destroy(si);
    reading_t rd = {.out = out};
    byron_status_t st = BYRON_OK;
    for (uint64_t seq = first ? first : 1; seq && seq <= last && st == BYRON_OK; seq++) {
        if (out->records >= BYRON_DLQ_MAX_RECORDS) {
            st = byron_err_set(err, BYRON_ELIMIT, "%s holds more than %d records", n.dlq_stream,
                               BYRON_DLQ_MAX_RECORDS);
            break;
        }
        natsMsg *m = NULL;
        jerr = 0;
        ns = js_GetMsg(&m, js, n.dlq_stream, seq, NULL, &jerr);
        if (ns == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) continue; /* a deleted record */
        if (ns != NATS_OK) {
            st = byron_err_set(err, BYRON_EUNAVAILABLE, "reading %s at %" PRIu64 ": %s", n.dlq_stream, seq,
                               natsStatus_GetText(ns));
            break;
        }
        out->records++;
        byron_dlq_msg_info_t info;
        byron_dlq_classify(c, m, &info);
        if (info.kind == BYRON_DLQ_KIND_DEAD_LETTER)
            st = keep_dead_letter(&rd, &info, m, seq, err);
        else if (info.kind == BYRON_DLQ_KIND_RESOLUTION)
            st = keep_resolution(&rd, &info, err);
        natsMsg_Destroy(m);
    }
    if (st == BYRON_OK) apply_resolutions(&rd);
    free(rd.res);
    if (st != BYRON_OK) byron_dlq_cleanup(out);
    return st;
}

byron_status_t byron_dlq_resolve(jsCtx *js, const byron_component_t *c, const byron_dlq_entry_t *e,
                                 byron_dlq_state_t state, const char *note, byron_err_t *err) {
    byron_jetstream_names_t n;
    if (byron_jetstream_names(c->namespace_, c->component, &n))
        return byron_err_set(err, BYRON_EINVAL, "%s/%s: names too long", c->namespace_, c->component);
    if (state != BYRON_DLQ_REPLAYED && state != BYRON_DLQ_DROPPED)
        return byron_err_set(err, BYRON_EINVAL, "a resolution is replayed or dropped");
    char subj[300], seq[24], dseq[24], msgid[300], ts[40];
    snprintf(subj, sizeof subj, "%s.%s", n.dlq_prefix, BYRON_DLQ_RESOLVED_TOKEN);
    snprintf(seq, sizeof seq, "%" PRIu64, e->info.sequence);
    snprintf(dseq, sizeof dseq, "%" PRIu64, e->dlq_seq);
    snprintf(msgid, sizeof msgid, "resolved:%s:%s:%s", byron_dlq_state_name(state), e->info.stream, seq);
    byron_time_now_rfc3339(ts, sizeof ts);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "resolution", json_object_new_string(byron_dlq_state_name(state)));
    json_object_object_add(o, "stream", json_object_new_string(e->info.stream));
    json_object_object_add(o, "sequence", json_object_new_uint64(e->info.sequence));
    json_object_object_add(o, "deadLetter", json_object_new_uint64(e->dlq_seq));
    json_object_object_add(o, "time", json_object_new_string(ts));
    if (note && *note) json_object_object_add(o, "note", json_object_new_string(note));
    const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    natsMsg *m = NULL;
    natsStatus ns = natsMsg_Create(&m, subj, NULL, txt, (int)strlen(txt));
    if (ns == NATS_OK) ns = natsMsgHeader_Set(m, "Nats-Msg-Id", msgid);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(m, BYRON_DLQ_HDR_STREAM, e->info.stream);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(m, BYRON_DLQ_HDR_SEQUENCE, seq);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(m, BYRON_DLQ_HDR_RESOLUTION, byron_dlq_state_name(state));
    if (ns == NATS_OK) ns = natsMsgHeader_Set(m, "Byron-Dlq-Dead-Letter", dseq);
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    if (ns == NATS_OK) ns = js_PublishMsg(&ack, js, m, NULL, &jerr);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
    json_object_put(o);
    if (ns != NATS_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "recording the decision in %s: %s (JetStream error %d)",
                             n.dlq_stream, natsStatus_GetText(ns), (int)jerr);
    return BYRON_OK;
}

json_object *byron_dlq_entry_json(const byron_dlq_entry_t *e, int with_event) {
    json_object *o = json_object_new_object(), *v;
    json_object_object_add(o, "deadLetter", json_object_new_uint64(e->dlq_seq));
    json_object_object_add(o, "state", json_object_new_string(byron_dlq_state_name(e->state)));
    json_object_object_add(o, "lane", json_object_new_string(e->info.own ? "own" : "sub"));
    json_object_object_add(o, "stream", json_object_new_string(e->info.stream));
    json_object_object_add(o, "sequence", json_object_new_uint64(e->info.sequence));
    static const char *const COPY[] = {"subject", "error",     "consumer", "deliveries",
                                       "time",    "reference", "raw",      "unreadable"};
    for (size_t i = 0; i < sizeof COPY / sizeof COPY[0]; i++)
        if (json_object_object_get_ex(e->body, COPY[i], &v))
            json_object_object_add(o, COPY[i], json_object_get(v));
    json_object *ev = NULL;
    if (json_object_object_get_ex(e->body, "event", &ev) && json_object_is_type(ev, json_type_object)) {
        static const char *const EV[] = {"type", "byronmodel", "subject", "byronversion"};
        static const char *const AS[] = {"type", "model", "id", "version"};
        for (size_t i = 0; i < sizeof EV / sizeof EV[0]; i++)
            if (json_object_object_get_ex(ev, EV[i], &v))
                json_object_object_add(o, AS[i], json_object_get(v));
        if (with_event) json_object_object_add(o, "event", json_object_get(ev));
    }
    return o;
}
