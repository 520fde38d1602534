/* cli_runner.h — where a component's work runs: `byron-sidecar --mode=admin`
 * (or `--mode=verify`) in the component's sink pod, through the API server's
 * pods/exec (kube_exec.h) — the pod's own NATS user, cache user and app, no
 * credentials on the caller's side — or, with --direct, as a process here
 * (the byron-sidecar beside kubectl-byron, else on PATH) with this
 * environment's BYRON_NATS_URL, BYRON_MONGO_URI, BYRON_NATS_CREDS and the
 * component's configuration from its ConfigMap (docs/cli.md). */
#ifndef BYRON_CLI_RUNNER_H
#define BYRON_CLI_RUNNER_H

#include "byron/status.h"
#include "cli_kube.h"

#include <stddef.h>

/* One line of the command's stdout (without its newline). Non-zero stops it. */
typedef int (*byron_cli_line_fn)(void *ud, const char *line, size_t len);

typedef struct byron_cli_run {
    const char *component;
    const char *mode;        /* "admin" or "verify" */
    const char *const *args; /* after --mode, NULL-terminated */
    int direct;
    int stdin_open; /* the command ends when we close its stdin (events --follow) */
    int timeout_s;  /* 0: none */
    byron_cli_line_fn on_line;
    void *ud;
} byron_cli_run_t;

/* Run it: *exit_code its exit status; *errtext (caller frees; may be NULL)
 * its stderr, at most 64 KiB. An error when it could not run at all (no sink
 * pod, pods/exec refused, byron-sidecar not found, ...), in kubectl's words. */
byron_status_t byron_cli_run(byron_cli_kube_t *k, const byron_cli_run_t *r, int *exit_code, char **errtext,
                             byron_err_t *err);

#endif
