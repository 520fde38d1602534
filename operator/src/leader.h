/* leader.h — leader election on a coordination.k8s.io/v1 Lease (client-go's
 * leaderelection, same timings by default: lease 15 s, renew deadline 10 s,
 * retry 2 s).
 *
 * A candidate takes the Lease when it is free (no holder, or released) or
 * when its record has not changed for a whole lease duration measured on
 * the candidate's own monotonic clock (never trusting another node's
 * renewTime). Writes carry the resourceVersion read, so two candidates can
 * never both win one round. The leader renews every retry period; if no renew
 * succeeds within the renew deadline it reports the loss and stops acting as
 * leader — the process then exits, as controller-runtime does, since its
 * caches may already be acting on a stale view. On shutdown the Lease is
 * released (holder cleared, duration 1 s) so a standby takes over at once. */
#ifndef BYRON_LEADER_H
#define BYRON_LEADER_H

#include "byron/kube_client.h"
#include "byron/status.h"

#include <stdatomic.h>

typedef struct byron_leader_options {
    const char *namespace;
    const char *name;                               /* Lease name: "byron-operator" */
    const char *identity;                           /* this candidate: hostname_random */
    unsigned lease_ms, renew_deadline_ms, retry_ms; /* 0: 15000 / 10000 / 2000 */
} byron_leader_options_t;

typedef struct byron_leader byron_leader_t;
typedef void (*byron_leader_lost_fn)(void *ud);

byron_leader_t *byron_leader_new(byron_kube_client_t *c, const byron_leader_options_t *o, byron_err_t *err);
/* Block until this candidate leads (OK) or *stop is set (ESTATE). Then a
 * thread keeps renewing; on_lost is called from it if leadership is lost. */
byron_status_t byron_leader_run(byron_leader_t *l, const atomic_int *stop, byron_leader_lost_fn on_lost,
                                void *ud, byron_err_t *err);
int byron_leader_is_leader(byron_leader_t *l);
/* Stop renewing and release the Lease if held. */
void byron_leader_release(byron_leader_t *l);
void byron_leader_free(byron_leader_t *l);

/* One acquire-or-renew round (exposed for tests): 1 leading, 0 not, -1 error. */
int byron_leader_try(byron_leader_t *l, byron_err_t *err);

#endif
