/* natsperm.h — what each NATS user of Byron may publish and subscribe to.
 *
 * Pure: a component (and, for its sink, the components it subscribes to) in,
 * a NATS permissions object ({"pub":{"allow":[…]},"sub":{"allow":[…]}}) out,
 * which natsjwt.c puts into the user's JWT. Everything not allowed is denied.
 * docs/security.md has the table; the integration test
 * `operator_nats_auth_it` proves each line against a real nats-server.
 *
 *   api   publishes its own component's events (byron.<ns>.<c>.>); reads its
 *         own stream (info, message get, direct get, consumers for GraphQL
 *         subscriptions, their flow control) — nothing of another component
 *   sink  consumes its own stream and, through its one durable consumer on
 *         each (byron-sub-<ns>-<c>), the streams its subscriptions name;
 *         acks them; publishes its dead letters (byrondlq.<ns>.<c>.>);
 *         publishes no event
 *   both  subscribe only to their own inbox prefix
 *         (_INBOX.byron.<ns>.<c>.<role>.>), so no one reads another's replies;
 *         may not create, update, purge or delete any stream
 *   operator  creates, updates and reads streams, reads consumers' state (the
 *             sinks' lag); nothing else */
#ifndef BYRON_NATSPERM_H
#define BYRON_NATSPERM_H

#include <json-c/json.h>
#include <stddef.h>

typedef struct byron_natsperm_ref {
    const char *namespace_, *component;
} byron_natsperm_ref_t;

/* The inbox prefix of a component's role ("api", "sink"): the sidecar gets it
 * as BYRON_NATS_INBOX_PREFIX. */
void byron_natsperm_inbox(const char *ns, const char *c, const char *role, char *buf, size_t n);
#define BYRON_NATSPERM_OPERATOR_INBOX "_INBOX.byron.operator"
/* The servers' max_control_line (helm/byron/templates/_helpers.tpl): a
 * sidecar's CONNECT carries its user JWT, whose permissions grow with the
 * component's names and subscriptions — past nats-server's default of 4 KiB
 * for a sink with one subscription in a namespace of 25 characters (every
 * durable on another component's stream is named exactly, in both slots, so
 * that no sink can touch another's consumers). test_natsauth.c checks that
 * the largest sink the CRD allows (about 410 KiB) fits. */
#define BYRON_NATS_MAX_CONTROL_LINE 1048576

/* Caller puts. NULL only when a name is too long for a subject. */
json_object *byron_natsperm_api(const char *ns, const char *c);
json_object *byron_natsperm_sink(const char *ns, const char *c, const byron_natsperm_ref_t *subs,
                                 size_t nsubs);
json_object *byron_natsperm_operator(void);

#endif
