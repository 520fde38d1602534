/* cli_commands.h — kubectl-byron's commands (docs/cli.md), one file each:
 * cli_status.c, cli_events.c, cli_dlq.c, cli_rebuild.c, cli_schema.c
 * (schema and verify). Each prints to out and returns the process's exit
 * status, or -1 with err set when it could not do its work. */
#ifndef BYRON_CLI_COMMANDS_H
#define BYRON_CLI_COMMANDS_H

#include "byron/status.h"
#include "cli_args.h"
#include "cli_kube.h"

#include <stdio.h>

int byron_cli_status(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err);
int byron_cli_events(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err);
int byron_cli_dlq(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err);
int byron_cli_rebuild(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err);
int byron_cli_schema(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err);
int byron_cli_verify(byron_cli_kube_t *k, const byron_cli_args_t *a, FILE *out, byron_err_t *err);

/* Shared by the commands: the admin command's one JSON document (its stdout,
 * parsed) from the component's sink pod (or here with --direct). A non-zero
 * exit that printed no document becomes err with its stderr. *code: its exit. */
byron_status_t byron_cli_admin_json(byron_cli_kube_t *k, const byron_cli_args_t *a, const char *const *args,
                                    int timeout_s, json_object **doc, int *code, byron_err_t *err);

/* Print o as -o asks (json or yaml); 0 when the format is a table's (the caller prints one). */
int byron_cli_print_doc(FILE *out, const byron_cli_args_t *a, json_object *o);

/* A string at a path of objects ("status", "cache", "state"; NULL-terminated), or NULL. */
const char *byron_cli_str(json_object *o, ...) __attribute__((sentinel));
json_object *byron_cli_at(json_object *o, ...) __attribute__((sentinel));

#endif
