/* kube_exec.h — run a command in a pod's container through the API server
 * (what `kubectl exec` does), over the WebSocket protocol of the exec
 * subresource: channels "v5.channel.k8s.io" (or v4), one byte of channel
 * before each message — 0 stdin, 1 stdout, 2 stderr, 3 the command's status
 * (a Status object: Success, or Failure with its exit code), 255 close.
 *
 * The connection is the kube client's (byron_kube_client_connect: its TLS and
 * credentials); frames are ws_frame.c's. Blocking; one call per thread. The
 * caller needs `create` on pods/exec in the pod's namespace. */
#ifndef BYRON_KUBE_EXEC_H
#define BYRON_KUBE_EXEC_H

#include "byron/kube_client.h"
#include "byron/status.h"

#include <json-c/json.h>
#include <stddef.h>

typedef struct byron_kube_exec {
    const char *namespace_, *pod, *container;
    const char *const *argv; /* the command, NULL-terminated */
    int stdin_open;          /* attach stdin and keep it open: the command sees EOF when we return */
    int timeout_s;           /* the whole call (0: none) */
} byron_kube_exec_t;

/* Output as it arrives: stream 1 (stdout) or 2 (stderr). Non-zero stops the call. */
typedef int (*byron_kube_exec_out_fn)(void *ud, int stream, const char *data, size_t len);

/* Run it. *exit_code: the command's exit status (0 on success). An error
 * when the command could not run: the API server refused (401/403 →
 * EREJECTED with its message, 404 → ENOTFOUND), the pod or container is not
 * running (ESTATE), the connection failed (EUNAVAILABLE), timeout. */
byron_status_t byron_kube_exec_run(byron_kube_client_t *c, const byron_kube_exec_t *x,
                                   byron_kube_exec_out_fn out, void *ud, int *exit_code, byron_err_t *err);

/* The exit code a channel-3 Status carries: 0 for Success, the ExitCode
 * cause's number for NonZeroExitCode, -1 for another failure (*message gets
 * its text, pointing into status). Pure. */
int byron_kube_exec_status_code(json_object *status, const char **message);

#endif
