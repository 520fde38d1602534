/* cli_args.h — kubectl-byron's command line, parsed (docs/cli.md).
 *
 *   kubectl byron [options] COMMAND [ARGS] [flags]
 *
 * As kubectl (cobra) reads it: flags anywhere after the command words,
 * "--flag value", "--flag=value", "-n value", "-nvalue", "--" ends the flags;
 * a flag belongs to the commands that name it (the global options to all).
 * Pure: no I/O; the error text is what kubectl would print after "error: ".
 * The help texts live here too, beside the flags they describe. */
#ifndef BYRON_CLI_ARGS_H
#define BYRON_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    BYRON_CLI_HELP,
    BYRON_CLI_VERSION,
    BYRON_CLI_OPTIONS, /* `kubectl byron options`: the global options */
    BYRON_CLI_STATUS,
    BYRON_CLI_EVENTS,
    BYRON_CLI_DLQ_LIST,
    BYRON_CLI_DLQ_SHOW,
    BYRON_CLI_DLQ_REPLAY,
    BYRON_CLI_DLQ_DROP,
    BYRON_CLI_REBUILD,
    BYRON_CLI_SCHEMA,
    BYRON_CLI_VERIFY,
    BYRON_CLI_COMPLETION, /* `completion bash|zsh`: a script for kubectl-byron */
    BYRON_CLI_COMPLETE,   /* `__complete ARGS...`: cobra's completion protocol */
    BYRON_CLI_NCOMMANDS
} byron_cli_command_t;

typedef enum { BYRON_CLI_OUT_TABLE, BYRON_CLI_OUT_JSON, BYRON_CLI_OUT_YAML } byron_cli_output_t;

#define BYRON_CLI_MAX_SEQS 256
#define BYRON_CLI_MAX_WORDS 64

typedef struct byron_cli_args {
    byron_cli_command_t command;
    /* global */
    const char *kubeconfig, *context, *namespace_;
    byron_cli_output_t output;
    int output_set;
    int direct; /* run the component's work here, not in its sink pod (docs/cli.md) */
    /* the command's */
    const char *component;
    const char *model, *id, *note, *shell;
    uint64_t from;
    int64_t limit; /* -1: the command's default */
    int follow, all, wait;
    int timeout_s; /* 0: the command's default */
    const char *seqs[BYRON_CLI_MAX_SEQS];
    int nseqs;
    byron_cli_command_t help_for;           /* BYRON_CLI_HELP: the command asked about (HELP: the overview) */
    const char *words[BYRON_CLI_MAX_WORDS]; /* BYRON_CLI_COMPLETE: the words being completed */
    int nwords;
} byron_cli_args_t;

/* 0: parsed; -1: bad usage, err holds the message (without "error: "). */
int byron_cli_args_parse(int argc, char *const argv[], byron_cli_args_t *a, char *err, size_t cap);

/* The command's name as typed ("dlq replay"), and its help text. */
const char *byron_cli_command_name(byron_cli_command_t c);
void byron_cli_help(FILE *f, byron_cli_command_t c);

/* Cobra's __complete: the candidates (one per line, then ":<directive>") for
 * the last of words; component names come from list_components (NULL-
 * terminated array, or NULL when unknown). Pure. */
void byron_cli_complete(FILE *f, const byron_cli_args_t *a, const char *const *components);

/* The command words a completion may offer after `words` (for tests). */
int byron_cli_needs_component(byron_cli_command_t c);

/* "30s", "5m", "1h", or seconds: *out seconds (1..86400). -1 if not one. */
int byron_cli_parse_duration(const char *s, int *out);

#endif
