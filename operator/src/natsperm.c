/* natsperm.c — NATS permissions per Byron role (see natsperm.h). */
#include "natsperm.h"

#include "byron/jetstream.h"

#include <stdarg.h>
#include <stdio.h>

static void allow(json_object *list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void allow(json_object *list, const char *fmt, ...) {
    char s[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    json_object_array_add(list, json_object_new_string(s));
}

static json_object *perms(json_object **pub, json_object **sub) {
    json_object *p = json_object_new_object(), *po = json_object_new_object(), *so = json_object_new_object();
    *pub = json_object_new_array();
    *sub = json_object_new_array();
    json_object_object_add(po, "allow", *pub);
    json_object_object_add(so, "allow", *sub);
    json_object_object_add(p, "pub", po);
    json_object_object_add(p, "sub", so);
    return p;
}

void byron_natsperm_inbox(const char *ns, const char *c, const char *role, char *buf, size_t n) {
    snprintf(buf, n, "_INBOX.byron.%s.%s.%s", ns, c, role);
}

/* Reading a stream without a consumer: its info, one message by sequence or
 * by subject (direct get is served by any replica). */
static void read_stream(json_object *pub, const char *s) {
    allow(pub, "$JS.API.STREAM.INFO.%s", s);
    allow(pub, "$JS.API.STREAM.MSG.GET.%s", s);
    allow(pub, "$JS.API.DIRECT.GET.%s", s);
    allow(pub, "$JS.API.DIRECT.GET.%s.>", s);
}

/* Consumers on a stream: named ones (durable), or any name (*). cnats uses
 * CONSUMER.CREATE.<stream>[.<name>[.<filter>]] and, for durables on older
 * servers, CONSUMER.DURABLE.CREATE.<stream>.<name>. */
static void consume(json_object *pub, const char *s, const char *name) {
    if (!name) {
        allow(pub, "$JS.API.CONSUMER.CREATE.%s", s);
        allow(pub, "$JS.API.CONSUMER.CREATE.%s.>", s);
        allow(pub, "$JS.API.CONSUMER.DURABLE.CREATE.%s.*", s);
        allow(pub, "$JS.API.CONSUMER.INFO.%s.*", s);
        allow(pub, "$JS.API.CONSUMER.DELETE.%s.*", s);
        allow(pub, "$JS.API.CONSUMER.MSG.NEXT.%s.*", s);
        allow(pub, "$JS.ACK.%s.>", s);
        allow(pub, "$JS.FC.%s.>", s);
        return;
    }
    allow(pub, "$JS.API.CONSUMER.CREATE.%s.%s", s, name);
    allow(pub, "$JS.API.CONSUMER.CREATE.%s.%s.>", s, name);
    allow(pub, "$JS.API.CONSUMER.DURABLE.CREATE.%s.%s", s, name);
    allow(pub, "$JS.API.CONSUMER.INFO.%s.%s", s, name);
    allow(pub, "$JS.API.CONSUMER.DELETE.%s.%s", s, name);
    allow(pub, "$JS.API.CONSUMER.MSG.NEXT.%s.%s", s, name);
    allow(pub, "$JS.ACK.%s.%s.>", s, name);
}

json_object *byron_natsperm_api(const char *ns, const char *c) {
    byron_jetstream_names_t n;
    if (byron_jetstream_names(ns, c, &n)) return NULL;
    json_object *pub, *sub, *p = perms(&pub, &sub);
    char inbox[300];
    allow(pub, "%s", n.subjects); /* its own events: the only events it may write */
    read_stream(pub, n.stream);
    /* GraphQL subscriptions: ordered consumers (any name) on its own stream.
     * Within its own component only: the api may already write that stream's
     * events, so its consumers widen nothing. */
    consume(pub, n.stream, NULL);
    byron_natsperm_inbox(ns, c, "api", inbox, sizeof inbox);
    allow(sub, "%s.>", inbox);
    /* Commands its sink's app sends (the sidecar's command_relay.h): served
     * in a queue group, answered on the sink's inbox. */
    allow(sub, "byroncmd.%s.%s", ns, c);
    byron_natsperm_inbox(ns, c, "sink", inbox, sizeof inbox);
    allow(pub, "%s.>", inbox);
    return p;
}

json_object *byron_natsperm_sink(const char *ns, const char *c, const byron_natsperm_ref_t *subs,
                                 size_t nsubs) {
    byron_jetstream_names_t n, t;
    if (byron_jetstream_names(ns, c, &n)) return NULL;
    json_object *pub, *sub, *p = perms(&pub, &sub);
    char inbox[300], durable[300];
    read_stream(pub, n.stream);
    consume(pub, n.stream, NULL); /* its lanes: byron-sink-p<N>[_b]; a rebuild deletes them */
    /* Each subscribed stream: read — through its durable, in either name slot (sink.c
     * byron_sink_subscription_durable), or a message at a time by sequence
     * (the fold checker) — nothing else: no other consumer, so it cannot
     * touch another subscriber's. */
    char rebuild[310];
    snprintf(durable, sizeof durable, "byron-sub-%s-%s", ns, c);
    snprintf(rebuild, sizeof rebuild, "%s_b", durable); /* a rebuild's name slot (docs/sink.md) */
    for (size_t i = 0; i < nsubs; i++) {
        if (byron_jetstream_names(subs[i].namespace_, subs[i].component, &t)) {
            json_object_put(p);
            return NULL;
        }
        read_stream(pub, t.stream);
        consume(pub, t.stream, durable);
        consume(pub, t.stream, rebuild);
    }
    /* Its dead letters: written, and read back by sequence. */
    allow(pub, "%s", n.dlq_subjects);
    read_stream(pub, n.dlq_stream);
    byron_natsperm_inbox(ns, c, "sink", inbox, sizeof inbox);
    allow(sub, "%s.>", inbox);
    /* Its app's commands go to the api, which appends them (command_relay.h). */
    allow(pub, "byroncmd.%s.%s", ns, c);
    return p;
}

json_object *byron_natsperm_operator(void) {
    json_object *pub, *sub, *p = perms(&pub, &sub);
    allow(pub, "$JS.API.INFO");
    allow(pub, "$JS.API.STREAM.CREATE.*");
    allow(pub, "$JS.API.STREAM.UPDATE.*");
    allow(pub, "$JS.API.STREAM.INFO.*");
    /* The sinks' lag (insights): their durables' pending counts, read-only. */
    allow(pub, "$JS.API.CONSUMER.LIST.*");
    allow(pub, "$JS.API.CONSUMER.INFO.*.*");
    allow(sub, "%s.>", BYRON_NATSPERM_OPERATOR_INBOX);
    return p;
}
