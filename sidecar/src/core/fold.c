/* fold.c — see fold.h. The rules are written here from the contract
 * (docs/events.md, docs/sink.md, docs/app-protocol.md "Sink side"), not from
 * the sink's code: only the parsers are shared. */
#include "fold.h"

#include "envelope.h"
#include "projector.h" /* byron_projector_answer_parse: the contract's parser, not the projection */
#include "subject.h"

#include <inttypes.h>
#include <json-c/linkhash.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LANES_NAMED 8 /* lanes remembered per document, for the report */

/* One aggregate (or object written by `changes`) as the fold sees it, and what
 * the cache said about it. */
typedef struct entry {
    const byron_model_t *model;
    const char *id;   /* points into key */
    json_object *doc; /* the document's fields (no id, no version); NULL: no document */
    int64_t version;  /* the document's version, when doc */
    int64_t tomb;     /* the tombstone's version; 0: none */
    int lanes[MAX_LANES_NAMED], nlanes;
    int multi;   /* written from more than one lane */
    int blocked; /* stopped by a dead-lettered valid event: later gaps are dead letters, no move */
    int seen_doc, seen_tomb;
    int64_t cache_tomb;
    int order_counted;
    char key[]; /* "<Model>/<id>" */
} entry_t;

struct byron_fold {
    byron_fold_options_t o;
    const byron_component_t *c;
    struct lh_table *agg; /* "<Model>/<id>" → entry_t */
    struct lh_table *dlq; /* "<stream> <seq>" → the same string */
    char **sub_streams;   /* per subscription */
    byron_fold_stats_t st;
};

/* ---- tables ----------------------------------------------------------- */

static void free_entry(struct lh_entry *e) {
    entry_t *en = (entry_t *)lh_entry_v(e);
    json_object_put(en->doc);
    free(en);
}

static void free_key(struct lh_entry *e) { free(lh_entry_k(e)); }

void byron_fold_subscription_stream(const byron_subscription_t *s, char *buf, size_t cap) {
    snprintf(buf, cap, "BYRON_%s_%s", s->namespace_, s->component);
    for (char *p = buf; *p; p++)
        if (*p == '-') *p = '_';
}

byron_fold_t *byron_fold_new(const byron_fold_options_t *o) {
    byron_fold_t *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->o = *o;
    f->c = o->component;
    f->agg = lh_kchar_table_new(1024, free_entry);
    f->dlq = lh_kchar_table_new(64, free_key);
    f->sub_streams = calloc(f->c->nsubscriptions + 1, sizeof *f->sub_streams);
    if (!f->agg || !f->dlq || !f->sub_streams) goto fail;
    for (size_t i = 0; i < f->c->nsubscriptions; i++) {
        if (!(f->sub_streams[i] = malloc(256))) goto fail;
        byron_fold_subscription_stream(&f->c->subscriptions[i], f->sub_streams[i], 256);
    }
    return f;
fail:
    byron_fold_free(f);
    return NULL;
}

void byron_fold_free(byron_fold_t *f) {
    if (!f) return;
    if (f->agg) lh_table_free(f->agg);
    if (f->dlq) lh_table_free(f->dlq);
    for (size_t i = 0; f->sub_streams && i < f->c->nsubscriptions; i++) free(f->sub_streams[i]);
    free(f->sub_streams);
    free(f);
}

static entry_t *entry_find(byron_fold_t *f, const char *model, const char *id) {
    char buf[512], *key = buf;
    size_t ml = strlen(model), il = strlen(id);
    if (ml + il + 2 > sizeof buf && !(key = malloc(ml + il + 2))) return NULL;
    memcpy(key, model, ml);
    key[ml] = '/';
    memcpy(key + ml + 1, id, il + 1);
    void *v = NULL;
    entry_t *e = lh_table_lookup_ex(f->agg, key, &v) ? v : NULL;
    if (key != buf) free(key);
    return e;
}

/* The entry of (m, id), created empty when missing; NULL on ENOMEM. */
static entry_t *entry_get(byron_fold_t *f, const byron_model_t *m, const char *id) {
    entry_t *e = entry_find(f, m->name, id);
    if (e) return e;
    size_t ml = strlen(m->name), il = strlen(id);
    if (!(e = calloc(1, sizeof *e + ml + il + 2))) return NULL;
    memcpy(e->key, m->name, ml);
    e->key[ml] = '/';
    memcpy(e->key + ml + 1, id, il + 1);
    e->model = m;
    e->id = e->key + ml + 1;
    if (lh_table_insert(f->agg, e->key, e) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

/* The version the aggregate is at, as a reader of the cache learns it: its
 * document's, else its tombstone's, else 0. */
static int64_t entry_version(const entry_t *e) { return !e ? 0 : e->doc ? e->version : e->tomb; }

static void entry_touch(entry_t *e, int lane) {
    for (int i = 0; i < e->nlanes; i++)
        if (e->lanes[i] == lane) return;
    if (e->nlanes > 0) e->multi = 1;
    if (e->nlanes < MAX_LANES_NAMED) e->lanes[e->nlanes++] = lane;
}

byron_status_t byron_fold_dead_letter(byron_fold_t *f, const char *stream, uint64_t seq) {
    char key[300];
    snprintf(key, sizeof key, "%s %" PRIu64, stream, seq);
    void *v = NULL;
    if (lh_table_lookup_ex(f->dlq, key, &v)) return BYRON_OK; /* a dead letter stored twice */
    char *k = strdup(key);
    if (!k || lh_table_insert(f->dlq, k, k) != 0) {
        free(k);
        return BYRON_ENOMEM;
    }
    return BYRON_OK;
}

static int dead_lettered(byron_fold_t *f, const char *stream, uint64_t seq) {
    char key[300];
    snprintf(key, sizeof key, "%s %" PRIu64, stream, seq);
    void *v = NULL;
    return lh_table_lookup_ex(f->dlq, key, &v);
}

/* ---- findings --------------------------------------------------------- */

static json_object *finding(const char *kind) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "kind", json_object_new_string(kind));
    return o;
}

static void add_str(json_object *o, const char *k, const char *v) {
    json_object_object_add(o, k, json_object_new_string(v));
}

static void add_i64(json_object *o, const char *k, int64_t v) {
    json_object_object_add(o, k, json_object_new_int64(v));
}

static void lane_name(const byron_fold_t *f, int lane, char *buf, size_t cap) {
    if (lane < f->c->partitions)
        snprintf(buf, cap, "p%d", lane);
    else
        snprintf(buf, cap, "sub:%s", f->sub_streams[lane - f->c->partitions]);
}

/* Report a finding (and put it). On a document written from several lanes a
 * difference may be the lanes' order: reported as "order-dependent", which
 * does not fail the check. */
static void emit(byron_fold_t *f, entry_t *e, json_object *o) {
    if (e && e->multi) {
        json_object *w = finding("order-dependent"), *lanes = json_object_new_array();
        add_str(w, "model", e->model->name);
        add_str(w, "id", e->id);
        for (int i = 0; i < e->nlanes; i++) {
            char name[300];
            lane_name(f, e->lanes[i], name, sizeof name);
            json_object_array_add(lanes, json_object_new_string(name));
        }
        json_object_object_add(w, "lanes", lanes);
        json_object_object_add(w, "difference", o);
        if (!e->order_counted) f->st.order_dependent++;
        e->order_counted = 1;
        o = w;
    } else {
        f->st.differences++;
    }
    f->o.report(f->o.report_ud, o);
    json_object_put(o);
}

static void report_event(byron_fold_t *f, const char *kind, const char *stream, const byron_fold_msg_t *m,
                         const char *reason) {
    json_object *o = finding(kind);
    add_str(o, "stream", stream);
    json_object_object_add(o, "sequence", json_object_new_uint64(m->seq));
    add_str(o, "subject", m->subject);
    if (reason) add_str(o, "reason", reason);
    emit(f, NULL, o);
}

/* ---- subjects --------------------------------------------------------- */

/* Whether subject is <prefix>.<t4>.<t5>.<t6>, exactly; *part = t4. */
static int aggregate_subject(const char *subject, const char *prefix, const char **part) {
    size_t pl = strlen(prefix);
    if (strncmp(subject, prefix, pl) != 0 || subject[pl] != '.') return 0;
    const char *p = subject + pl + 1;
    *part = p;
    int dots = 0;
    for (const char *q = p; *q; q++) {
        if (*q != '.') continue;
        if (q == p || q[1] == '\0' || q[1] == '.') return 0; /* empty token */
        dots++;
    }
    return dots == 2 && *p != '.';
}

/* An own aggregate subject: the partition token is one a sink lane consumes
 * (a decimal below partitions, as the subject is formatted). */
static int own_subject(const byron_fold_t *f, const char *subject) {
    const char *p;
    if (!aggregate_subject(subject, f->c->subject_prefix, &p)) return 0;
    if (p[0] == '0' && p[1] != '.') return 0;
    long n = 0;
    const char *q = p;
    for (; *q >= '0' && *q <= '9' && n < 1000000; q++) n = n * 10 + (*q - '0');
    return q != p && *q == '.' && n < f->c->partitions;
}

static int sub_subject(const byron_subscription_t *s, const char *subject) {
    char prefix[300];
    snprintf(prefix, sizeof prefix, "byron.%s.%s", s->namespace_, s->component);
    const char *p;
    return aggregate_subject(subject, prefix, &p);
}

/* ---- validity of an own event ----------------------------------------- */

typedef enum { K_CREATED, K_UPDATED, K_DELETED, K_CUSTOM } kind_t;

static kind_t kind_of(const char *type, const char *model) {
    size_t ml = strlen(model);
    if (strncmp(type, model, ml) != 0) return K_CUSTOM;
    if (strcmp(type + ml, "Created") == 0) return K_CREATED;
    if (strcmp(type + ml, "Updated") == 0) return K_UPDATED;
    if (strcmp(type + ml, "Deleted") == 0) return K_DELETED;
    return K_CUSTOM;
}

static const char *str_of(json_object *ev, const char *k) {
    return json_object_get_string(json_object_object_get(ev, k));
}

static int emitted(const byron_component_t *c, const byron_model_t *m, const char *type) {
    for (size_t i = 0; i < c->ncommands; i++)
        for (size_t k = 0; c->commands[i].model == m && k < c->commands[i].nemits; k++)
            if (strcmp(c->commands[i].emits[k], type) == 0) return 1;
    return 0;
}

/* A version header as the api writes it: a decimal without sign or padding; 0 otherwise. */
static int64_t header_version(const char *h) {
    int64_t v = 0;
    if (!h || !*h || (h[0] == '0')) return 0;
    for (const char *p = h; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10) return 0;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* The checks that need no state: BYRON_OK when the event may be an
 * aggregate's next one; otherwise why names the rule. *ev is set when the
 * envelope parsed (the caller puts it). */
static byron_status_t check_own(byron_fold_t *f, const byron_fold_msg_t *m, json_object **ev,
                                const byron_model_t **model, byron_err_t *why) {
    if (byron_event_parse(m->data, m->len, ev, why) != BYRON_OK) return why->code;
    const char *mname = str_of(*ev, "byronmodel"), *id = str_of(*ev, "subject"), *type = str_of(*ev, "type");
    int64_t v = json_object_get_int64(json_object_object_get(*ev, "byronversion"));
    if (!(*model = byron_component_model(f->c, mname)))
        return byron_err_set(why, BYRON_EINVAL, "event.byronmodel: %s is not a model of %s", mname,
                             f->c->component);
    char want[BYRON_SUBJECT_MAX];
    if (byron_subject_format(want, sizeof want, f->c, mname, id) < 0 || strcmp(want, m->subject) != 0)
        return byron_err_set(why, BYRON_EINVAL, "subject %s is not the aggregate's subject %s", m->subject,
                             want);
    if (header_version(m->version_header) != v)
        return byron_err_set(why, BYRON_EINVAL,
                             "header Byron-Version %s%s%s differs from byronversion %" PRId64,
                             m->version_header ? "\"" : "", m->version_header ? m->version_header : "absent",
                             m->version_header ? "\"" : "", v);
    if (v > BYRON_VERSION_MAX) /* absurd: dead-lettered, and nothing moves (move_past) */
        return byron_err_set(why, BYRON_EINVAL, "byronversion %" PRId64 " is absurd", v);
    kind_t k = kind_of(type, mname);
    if (k == K_CUSTOM && !emitted(f->c, *model, type))
        return byron_err_set(why, BYRON_EINVAL, "event.type: no command of %s emits %s", mname, type);
    json_object *data = json_object_object_get(*ev, "data"), *did = NULL;
    if (k == K_CREATED || k == K_UPDATED) {
        byron_status_t st = byron_input_validate((*model)->fields, (*model)->nfields, data, k == K_UPDATED, 1,
                                                 "event.data", why);
        if (st != BYRON_OK) return st;
        int has_id = json_object_object_get_ex(data, "id", &did);
        if ((k == K_CREATED && !has_id) || (has_id && strcmp(json_object_get_string(did), id) != 0))
            return byron_err_set(why, BYRON_EINVAL, "event.data.id: must be the event's subject %s", id);
    }
    return BYRON_OK;
}

/* The aggregate moves to `to` with nothing applied: its document's version,
 * or (without a document) its tombstone's, which only rises. */
static void version_move(entry_t *e, int64_t to) {
    if (e->doc)
        e->version = to;
    else if (to > e->tomb)
        e->tomb = to;
}

/* After an invalid event, the aggregate its NATS subject names moves past the
 * version the message claims (its Byron-Version header): that is what the api
 * counts the next version from, so a bad event never freezes an aggregate
 * (issue 10, item 5). Nothing moves when the subject names no aggregate of
 * ours or the header is not a version beyond where it is. */
static byron_status_t move_past(byron_fold_t *f, const byron_fold_msg_t *m) {
    int64_t hv = header_version(m->version_header);
    const char *p = m->subject + strlen(f->c->subject_prefix) + 1, *mdot = strchr(p, '.');
    const char *idp = mdot ? strchr(mdot + 1, '.') : NULL;
    if (!hv || hv > BYRON_VERSION_MAX || !idp) return BYRON_OK;
    char mname[256];
    if ((size_t)(idp - mdot - 1) >= sizeof mname) return BYRON_OK;
    snprintf(mname, sizeof mname, "%.*s", (int)(idp - mdot - 1), mdot + 1);
    const byron_model_t *model = byron_component_model(f->c, mname);
    if (!model || !byron_id_is_valid(idp + 1)) return BYRON_OK;
    entry_t *e = entry_get(f, model, idp + 1);
    if (!e) return BYRON_ENOMEM;
    if (hv > entry_version(e)) {
        version_move(e, hv);
        entry_touch(
            e, (int)strtol(p, NULL, 10)); /* the lane that carried it: own_subject checked the partition */
    }
    return BYRON_OK;
}

/* ---- the app ---------------------------------------------------------- */

/* The body the sink sends (current: taken). The event gains its sequence. */
static json_object *body_of(json_object *ev, uint64_t seq, json_object *current, int subscribed) {
    json_object *b = json_object_new_object();
    json_object_object_add(ev, "byronsequence", json_object_new_uint64(seq));
    json_object_object_add(b, "event", json_object_get(ev));
    json_object_object_add(b, "current", current);
    json_object_object_add(b, "subscribed", json_object_new_boolean(subscribed));
    json_object_object_add(b, "attempt", json_object_new_int(1));
    return b;
}

static byron_status_t app_post(byron_fold_t *f, const char *type, const char *hook, json_object *body,
                               json_object **answer, byron_err_t *err) {
    char path[256];
    snprintf(path, sizeof path, "/v1/events/%s%s%s", type, hook ? "/" : "", hook ? hook : "");
    *answer = NULL;
    byron_status_t st = f->o.app(f->o.app_ud, path, body, answer, err);
    if (st != BYRON_OK) {
        json_object_put(*answer);
        *answer = NULL;
        byron_err_prefix(err, "app %s", path);
    }
    return st;
}

/* The before hook, then (unless it skips) the handler. Never the after hook:
 * it is a side effect. *ans is always initialised. */
static byron_status_t app_handle(byron_fold_t *f, json_object *body, const char *type, const byron_model_t *m,
                                 const char *id, int *skip, byron_projector_answer_t *ans, byron_err_t *err) {
    memset(ans, 0, sizeof *ans);
    *skip = 0;
    json_object *a = NULL;
    byron_status_t st = app_post(f, type, "before", body, &a, err);
    if (st == BYRON_OK && a) {
        byron_projector_answer_t b;
        if (byron_projector_answer_parse(f->c, a, NULL, NULL, &b, err) != BYRON_OK || b.nchanges) {
            char why[BYRON_ERR_MSG_MAX];
            snprintf(why, sizeof why, "%s", b.nchanges ? "" : err->msg);
            st = byron_err_set(err, BYRON_EPROTO,
                               "app /v1/events/%s/before: answers {} or {\"skip\": ...}%s%.400s", type,
                               why[0] ? ": " : "", why);
        } else
            *skip = b.skip;
        byron_projector_answer_cleanup(&b);
    }
    json_object_put(a);
    a = NULL;
    if (st == BYRON_OK && !*skip && (st = app_post(f, type, NULL, body, &a, err)) == BYRON_OK && a &&
        byron_projector_answer_parse(f->c, a, m, id, ans, err) != BYRON_OK) {
        byron_err_prefix(err, "app /v1/events/%s", type);
        st = BYRON_EPROTO;
    }
    json_object_put(a);
    return st;
}

/* ---- applying --------------------------------------------------------- */

/* A new object holding obj's keys (references), without "id" and "version". */
static json_object *fields_copy(json_object *obj) {
    json_object *o = json_object_new_object();
    json_object_object_foreach(obj, k, v) {
        if (strcmp(k, "id") != 0 && strcmp(k, "version") != 0)
            json_object_object_add(o, k, json_object_get(v));
    }
    return o;
}

static void merge(json_object *doc, json_object *set, json_object *unset) {
    if (set) {
        json_object_object_foreach(set, k, v) json_object_object_add(doc, k, json_object_get(v));
    }
    for (size_t i = 0; unset && i < json_object_array_length(unset); i++)
        json_object_object_del(doc, json_object_get_string(json_object_array_get_idx(unset, i)));
}

/* The object a handler sees as `current`: id, version, fields. */
static json_object *current_of(const entry_t *e) {
    if (!e || !e->doc) return NULL;
    json_object *o = fields_copy(e->doc);
    json_object_object_add(o, "id", json_object_new_string(e->id));
    json_object_object_add(o, "version", json_object_new_int64(e->version));
    return o;
}

/* A `changes` entry: absolute, never touches version; a missing object is
 * created with version 0. */
static byron_status_t apply_change(byron_fold_t *f, const byron_change_t *ch, int lane) {
    entry_t *e = entry_get(f, ch->model, ch->id);
    if (!e) return BYRON_ENOMEM;
    entry_touch(e, lane);
    if (ch->del) { /* a deleted object that had own events keeps its version in its tombstone */
        if (e->doc && e->version > e->tomb) e->tomb = e->version;
        json_object_put(e->doc);
        e->doc = NULL;
        return BYRON_OK;
    }
    if (!e->doc) {
        e->doc = json_object_new_object();
        e->version = 0;
    }
    merge(e->doc, ch->set, ch->unset);
    return BYRON_OK;
}

static byron_status_t apply_own(byron_fold_t *f, const byron_fold_msg_t *m, json_object *ev, entry_t *e,
                                byron_err_t *err) {
    const char *id = str_of(ev, "subject"), *type = str_of(ev, "type");
    int64_t v = json_object_get_int64(json_object_object_get(ev, "byronversion"));
    json_object *data = json_object_object_get(ev, "data");
    kind_t k = kind_of(type, e->model->name);
    int lane = (int)byron_partition(e->model->name, id, f->c->partitions), skip = 0;
    byron_projector_answer_t ans;
    memset(&ans, 0, sizeof ans);
    if (f->o.app) {
        json_object *body = body_of(ev, m->seq, current_of(e), 0);
        byron_status_t st = app_handle(f, body, type, e->model, id, &skip, &ans, err);
        json_object_put(body);
        if (st != BYRON_OK) {
            byron_err_prefix(err, "event %s %" PRIu64, f->c->stream, m->seq);
            return st;
        }
    }
    skip = skip || ans.skip; /* skipped: only the version moves, the handler's changes are dropped */
    if (!skip && (k == K_DELETED || (ans.has_own && ans.own.del))) {
        json_object_put(e->doc);
        e->doc = NULL;
        if (v > e->tomb) e->tomb = v;
    } else if (!skip && k == K_CREATED) {
        json_object *doc = fields_copy(data);
        if (ans.has_own) merge(doc, ans.own.set, ans.own.unset);
        json_object_put(e->doc);
        e->doc = doc;
        e->version = v;
    } else {
        json_object *set = !skip && k == K_UPDATED ? fields_copy(data) : json_object_new_object();
        json_object *unset = !skip && ans.has_own ? ans.own.unset : NULL;
        if (!skip && ans.has_own) merge(set, ans.own.set, unset);
        if (!e->doc && !json_object_object_length(set) && !(unset && json_object_array_length(unset))) {
            version_move(e, v); /* nothing to write but the version: no document to carry it */
        } else {
            if (!e->doc) e->doc = json_object_new_object();
            merge(e->doc, set, unset);
            e->version = v;
        }
        json_object_put(set);
    }
    entry_touch(e, lane);
    f->st.applied++;
    byron_status_t st = BYRON_OK;
    for (size_t i = 0; !skip && i < ans.nchanges && st == BYRON_OK; i++)
        st = apply_change(f, &ans.changes[i], lane);
    byron_projector_answer_cleanup(&ans);
    if (st != BYRON_OK) byron_err_set(err, st, "out of memory");
    return st;
}

static void expect_dead_letter(byron_fold_t *f, const byron_fold_msg_t *m, int dead, const char *why) {
    f->st.invalid++;
    if (!dead) report_event(f, "expected-dead-letter", f->c->stream, m, why);
}

byron_status_t byron_fold_own(byron_fold_t *f, const byron_fold_msg_t *m, byron_err_t *err) {
    if (!own_subject(f, m->subject)) {
        f->st.ignored++;
        return BYRON_OK;
    }
    f->st.events++;
    int dead = dead_lettered(f, f->c->stream, m->seq);
    json_object *ev = NULL;
    const byron_model_t *model = NULL;
    byron_err_t why = {0};
    byron_status_t st = BYRON_OK;
    if (check_own(f, m, &ev, &model, &why) != BYRON_OK) {
        expect_dead_letter(f, m, dead, why.msg);
        st = move_past(f, m);
        goto out;
    }
    const char *id = str_of(ev, "subject");
    int64_t v = json_object_get_int64(json_object_object_get(ev, "byronversion"));
    entry_t *e = entry_get(f, model, id);
    if (!e) {
        st = BYRON_ENOMEM;
        goto out;
    }
    int64_t s = entry_version(e);
    if (v <= s) {
        /* Already applied, as the sink sees it: a redelivery or a replay over a
         * warm cache skips it (docs/sink.md, "Version guard"); a copy of an
         * older version is skipped alike — never applied either way. */
    } else if (v > s + 1 && e->blocked) {
        byron_err_set(&why, BYRON_EINVAL, "%s %s is stopped at version %" PRId64 " by a dead-lettered event",
                      model->name, id, s);
        expect_dead_letter(f, m, dead, why.msg);
    } else if (v > s + 1) {
        byron_err_set(&why, BYRON_EINVAL,
                      "byronversion %" PRId64 " of %s %s is not the next version (%" PRId64 ")", v,
                      model->name, id, s + 1);
        expect_dead_letter(f, m, dead, why.msg);
        st = move_past(f, m);
    } else if (dead) { /* valid: its handler failed for good, the aggregate stops before it */
        f->st.dead_lettered++;
        e->blocked = 1;
        if (!f->o.app)
            report_event(f, "unexpected-dead-letter", f->c->stream, m,
                         "a valid event was dead-lettered, and no handler could have failed");
    } else {
        st = apply_own(f, m, ev, e, err);
    }
out:
    if (st == BYRON_ENOMEM) byron_err_set(err, st, "out of memory");
    json_object_put(ev);
    return st;
}

byron_status_t byron_fold_subscribed(byron_fold_t *f, size_t sub, const byron_fold_msg_t *m,
                                     byron_err_t *err) {
    const byron_subscription_t *s = &f->c->subscriptions[sub];
    if (!sub_subject(s, m->subject)) {
        f->st.ignored++;
        return BYRON_OK;
    }
    f->st.events++;
    const char *stream = f->sub_streams[sub];
    int dead = dead_lettered(f, stream, m->seq);
    json_object *ev = NULL;
    byron_err_t why = {0};
    if (byron_event_parse(m->data, m->len, &ev, &why) != BYRON_OK) {
        f->st.invalid++;
        if (!dead) report_event(f, "expected-dead-letter", stream, m, why.msg);
        return BYRON_OK;
    }
    const char *type = str_of(ev, "type");
    int listed = s->nevents == 0;
    for (size_t i = 0; i < s->nevents && !listed; i++) listed = strcmp(s->events[i], type) == 0;
    byron_status_t st = BYRON_OK;
    if (!listed) {
        f->st.filtered++;
    } else if (dead) {
        f->st.dead_lettered++;
        if (!f->o.app)
            report_event(f, "unexpected-dead-letter", stream, m,
                         "a valid event was dead-lettered, and no handler could have failed");
    } else if (f->o.app) {
        f->st.subscribed++;
        byron_projector_answer_t ans;
        int skip = 0;
        json_object *body = body_of(ev, m->seq, NULL, 1);
        st = app_handle(f, body, type, NULL, NULL, &skip, &ans, err);
        json_object_put(body);
        if (st != BYRON_OK) byron_err_prefix(err, "event %s %" PRIu64, stream, m->seq);
        int lane = f->c->partitions + (int)sub;
        for (size_t i = 0; st == BYRON_OK && i < ans.nchanges; i++)
            if ((st = apply_change(f, &ans.changes[i], lane)) != BYRON_OK)
                byron_err_set(err, st, "out of memory");
        byron_projector_answer_cleanup(&ans);
    }
    json_object_put(ev);
    return st;
}

/* ---- comparison ------------------------------------------------------- */

static int is_number(json_object *o) {
    return json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double);
}

int byron_fold_value_equal(json_object *a, json_object *b) {
    if (!a || !b) return a == b;
    if (is_number(a) && is_number(b)) {
        if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int))
            return json_object_get_int64(a) == json_object_get_int64(b) &&
                   json_object_get_uint64(a) == json_object_get_uint64(b);
        return json_object_get_double(a) == json_object_get_double(b);
    }
    json_type t = json_object_get_type(a);
    if (t != json_object_get_type(b)) return 0;
    switch (t) {
    case json_type_boolean: return json_object_get_boolean(a) == json_object_get_boolean(b);
    case json_type_string:
        return json_object_get_string_len(a) == json_object_get_string_len(b) &&
               memcmp(json_object_get_string(a), json_object_get_string(b),
                      (size_t)json_object_get_string_len(a)) == 0;
    case json_type_array: {
        size_t n = json_object_array_length(a);
        if (n != json_object_array_length(b)) return 0;
        for (size_t i = 0; i < n; i++)
            if (!byron_fold_value_equal(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
                return 0;
        return 1;
    }
    case json_type_object: {
        if (json_object_object_length(a) != json_object_object_length(b)) return 0;
        json_object_object_foreach(a, k, v) {
            json_object *w = NULL;
            if (!json_object_object_get_ex(b, k, &w) || !byron_fold_value_equal(v, w)) return 0;
        }
        return 1;
    }
    default: return 1; /* null */
    }
}

static json_object *doc_of(const entry_t *e) {
    json_object *o = fields_copy(e->doc);
    add_i64(o, "version", e->version);
    return o;
}

static json_object *doc_finding(const char *kind, const entry_t *e, const byron_model_t *m, json_object *id) {
    json_object *o = finding(kind);
    add_str(o, "model", e ? e->model->name : m->name);
    json_object_object_add(o, "id", e ? json_object_new_string(e->id) : json_object_get(id));
    return o;
}

static void field_diff(byron_fold_t *f, entry_t *e, const char *field, json_object *fold, int in_fold,
                       json_object *cache, int in_cache) {
    if (in_fold == in_cache && (!in_fold || byron_fold_value_equal(fold, cache))) return;
    json_object *o = doc_finding("field", e, NULL, NULL);
    add_str(o, "field", field);
    if (in_fold) json_object_object_add(o, "fold", json_object_get(fold));
    if (in_cache) json_object_object_add(o, "cache", json_object_get(cache));
    emit(f, e, o);
}

void byron_fold_cache_doc(byron_fold_t *f, const byron_model_t *m, json_object *doc) {
    f->st.documents++;
    json_object *idv = NULL;
    json_object_object_get_ex(doc, "_id", &idv);
    entry_t *e = json_object_is_type(idv, json_type_string)
                     ? entry_find(f, m->name, json_object_get_string(idv))
                     : NULL;
    if (e) e->seen_doc = 1;
    if (!e || !e->doc) {
        json_object *o = doc_finding("extra-document", NULL, m, idv);
        json_object *c = NULL;
        json_object_deep_copy(doc, &c, NULL);
        if (c) json_object_object_del(c, "_id");
        json_object_object_add(o, "cache", c);
        emit(f, e, o);
        return;
    }
    json_object_object_foreach(e->doc, k, v) {
        json_object *cv = NULL;
        int in = json_object_object_get_ex(doc, k, &cv);
        field_diff(f, e, k, v, 1, cv, in);
    }
    json_object_object_foreach(doc, ck, cv) {
        if (strcmp(ck, "_id") == 0 || strcmp(ck, "version") == 0) continue;
        if (!json_object_object_get_ex(e->doc, ck, NULL)) field_diff(f, e, ck, NULL, 0, cv, 1);
    }
    json_object *fv = json_object_new_int64(e->version), *cver = NULL;
    int in = json_object_object_get_ex(doc, "version", &cver);
    field_diff(f, e, "version", fv, 1, cver, in);
    json_object_put(fv);
}

void byron_fold_cache_state(byron_fold_t *f, json_object *doc) {
    json_object *idv = NULL, *ver = NULL;
    const char *key =
        json_object_object_get_ex(doc, "_id", &idv) && json_object_is_type(idv, json_type_string)
            ? json_object_get_string(idv)
            : "";
    if (strncmp(key, "tomb:", 5) != 0) return; /* the sink's other bookkeeping */
    const char *slash = strchr(key + 5, '/');
    char mname[256] = "";
    if (slash && (size_t)(slash - (key + 5)) < sizeof mname)
        snprintf(mname, sizeof mname, "%.*s", (int)(slash - (key + 5)), key + 5);
    const byron_model_t *m = mname[0] ? byron_component_model(f->c, mname) : NULL;
    entry_t *e = m && byron_id_is_valid(slash + 1) ? entry_get(f, m, slash + 1) : NULL;
    int has_version = json_object_object_get_ex(doc, "version", &ver) && is_number(ver);
    if (!e || !has_version) {
        json_object *o = finding(e ? "wrong-tombstone" : "extra-tombstone");
        add_str(o, "key", key);
        json_object *c = NULL;
        json_object_deep_copy(doc, &c, NULL);
        json_object_object_add(o, "cache", c);
        emit(f, e, o);
        if (e) e->seen_tomb = -1; /* reported */
        return;
    }
    e->seen_tomb = 1;
    e->cache_tomb = json_object_get_int64(ver);
}

static void tomb_finding(byron_fold_t *f, entry_t *e, const char *kind) {
    json_object *o = doc_finding(kind, e, NULL, NULL);
    if (e->tomb) add_i64(o, "fold", e->tomb);
    if (e->seen_tomb) add_i64(o, "cache", e->cache_tomb);
    emit(f, e, o);
}

void byron_fold_finish(byron_fold_t *f, byron_fold_stats_t *stats) {
    struct lh_entry *le;
    lh_foreach(f->agg, le) {
        entry_t *e = (entry_t *)lh_entry_v(le);
        if (e->doc || e->tomb) f->st.aggregates++;
        if (e->doc && !e->seen_doc) {
            json_object *o = doc_finding("missing-document", e, NULL, NULL);
            json_object_object_add(o, "fold", doc_of(e));
            emit(f, e, o);
        }
        if (e->seen_tomb < 0) continue;
        /* A tombstone keeps a deleted aggregate's version; beside a live
         * document it is shadowed (kept or cleared: both are right). */
        if (e->tomb && !e->doc && !e->seen_tomb)
            tomb_finding(f, e, "missing-tombstone");
        else if (e->seen_tomb && !e->tomb)
            tomb_finding(f, e, "extra-tombstone");
        else if (e->seen_tomb && e->cache_tomb != e->tomb)
            tomb_finding(f, e, "wrong-tombstone");
    }
    if (stats) *stats = f->st;
}
