/* cli_args.c — kubectl-byron's command line and help texts (cli_args.h). */
#include "cli_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define BIT(c) (1u << (c))
#define ALL_COMMANDS (BIT(BYRON_CLI_NCOMMANDS) - 1)
#define LIVE_COMMANDS                                                                                        \
    (BIT(BYRON_CLI_STATUS) | BIT(BYRON_CLI_EVENTS) | BIT(BYRON_CLI_DLQ_LIST) | BIT(BYRON_CLI_DLQ_SHOW) |     \
     BIT(BYRON_CLI_DLQ_REPLAY) | BIT(BYRON_CLI_DLQ_DROP) | BIT(BYRON_CLI_VERIFY))

typedef enum {
    F_KUBECONFIG,
    F_CONTEXT,
    F_NAMESPACE,
    F_OUTPUT,
    F_DIRECT,
    F_HELP,
    F_VERSION,
    F_MODEL,
    F_ID,
    F_FROM,
    F_LIMIT,
    F_FOLLOW,
    F_ALL,
    F_NOTE,
    F_WAIT,
    F_TIMEOUT,
} flag_id_t;

typedef struct flag {
    flag_id_t id;
    const char *name;
    char shorthand;
    int value;         /* takes a value; 2: an optional one (--wait[=false]) */
    unsigned commands; /* the commands that have it */
    const char *help;  /* "--x=DEFAULT: what" after the name, kubectl's style */
} flag_t;

static const flag_t FLAGS[] = {
    {F_KUBECONFIG, "kubeconfig", 0, 1, ALL_COMMANDS,
     "='': Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)."},
    {F_CONTEXT, "context", 0, 1, ALL_COMMANDS, "='': The name of the kubeconfig context to use."},
    {F_NAMESPACE, "namespace", 'n', 1, ALL_COMMANDS,
     "='': The namespace of the components (default: the context's, else \"default\")."},
    {F_DIRECT, "direct", 0, 0, LIVE_COMMANDS,
     "=false: Run the component's work here (byron-sidecar from PATH, with BYRON_NATS_URL, BYRON_MONGO_URI "
     "and BYRON_NATS_CREDS from the environment) instead of in its sink pod."},
    {F_HELP, "help", 'h', 0, ALL_COMMANDS, "=false: Help for the command."},
    {F_VERSION, "version", 0, 0, BIT(BYRON_CLI_HELP), "=false: Print the version."},
    {F_OUTPUT, "output", 'o', 1,
     BIT(BYRON_CLI_STATUS) | BIT(BYRON_CLI_EVENTS) | BIT(BYRON_CLI_DLQ_LIST) | BIT(BYRON_CLI_DLQ_SHOW) |
         BIT(BYRON_CLI_DLQ_REPLAY) | BIT(BYRON_CLI_DLQ_DROP) | BIT(BYRON_CLI_VERIFY) | BIT(BYRON_CLI_REBUILD),
     "='': Output format. One of: (json, yaml). Default: a table."},
    {F_MODEL, "model", 0, 1, BIT(BYRON_CLI_EVENTS), "='': Only the events of this model."},
    {F_ID, "id", 0, 1, BIT(BYRON_CLI_EVENTS), "='': Only the events of this aggregate (with --model)."},
    {F_FROM, "from", 0, 1, BIT(BYRON_CLI_EVENTS), "=1: The first stream sequence to show."},
    {F_LIMIT, "limit", 0, 1, BIT(BYRON_CLI_EVENTS), "=1000: At most this many events (0: no limit)."},
    {F_FOLLOW, "follow", 'f', 0, BIT(BYRON_CLI_EVENTS),
     "=false: Keep showing new events as they are appended."},
    {F_ALL, "all", 0, 0, BIT(BYRON_CLI_DLQ_LIST) | BIT(BYRON_CLI_DLQ_REPLAY) | BIT(BYRON_CLI_DLQ_DROP),
     "=false: list: the replayed and dropped dead letters too; replay, drop: every open dead letter."},
    {F_NOTE, "note", 0, 1, BIT(BYRON_CLI_DLQ_DROP), "='': Why it was dropped, kept with the decision."},
    {F_WAIT, "wait", 0, 2, BIT(BYRON_CLI_REBUILD), "=true: Follow the rebuild until it completes."},
    {F_TIMEOUT, "timeout", 0, 1, BIT(BYRON_CLI_REBUILD) | BIT(BYRON_CLI_DLQ_REPLAY) | BIT(BYRON_CLI_VERIFY),
     "=0s: How long to wait (rebuild: 30m; dlq replay: 30s for the sink's lane; verify: 10s for the sink to "
     "settle)."},
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])

typedef struct command {
    byron_cli_command_t id;
    const char *name; /* as typed */
    const char *args; /* usage after the name */
    const char *short_help;
    const char *long_help;
    const char *examples;
} command_t;

static const command_t COMMANDS[] = {
    {BYRON_CLI_HELP, "help", "[COMMAND]", "Help about any command", "", ""},
    {BYRON_CLI_VERSION, "version", "", "Print the version of kubectl-byron",
     "Print the version of kubectl-byron.", "  kubectl byron version\n"},
    {BYRON_CLI_OPTIONS, "options", "", "Print the options every command takes",
     "Print the list of flags inherited by all commands.", "  kubectl byron options\n"},
    {BYRON_CLI_STATUS, "status", "[COMPONENT]", "Show the components of a namespace, or one in detail",
     "Show the components of the namespace (conditions, API and Sink replicas, cache, stream, lag, dead\n"
     "letters), or one component in detail: its conditions, replicas, the stream (events, bytes,\n"
     "replicas), the sink's lag per partition, its dead letters and the cache's documents. The detail\n"
     "comes from the component's sink pod (pods/exec).",
     "  # Every component of the current namespace\n  kubectl byron status\n\n"
     "  # One component in detail, as YAML\n  kubectl byron status orders -o yaml\n"},
    {BYRON_CLI_EVENTS, "events", "COMPONENT", "Read a component's event log",
     "Print a component's events in log order, from its stream: every aggregate's, one model's or one\n"
     "aggregate's, from a stream sequence on; with --follow, new events as they are appended.",
     "  # The events of one order\n  kubectl byron events orders --model Order --id o-1\n\n"
     "  # Everything from sequence 100 on, then new events as they come\n"
     "  kubectl byron events orders --from 100 --follow\n"},
    {BYRON_CLI_DLQ_LIST, "dlq list", "COMPONENT", "List the dead letters of a component",
     "List the dead letters that wait for a decision: events the sink could not project, with why.\n"
     "BLOCKING: the event's aggregate is stopped until the dead letter is replayed.",
     "  kubectl byron dlq list orders\n  kubectl byron dlq list orders --all -o yaml\n"},
    {BYRON_CLI_DLQ_SHOW, "dlq show", "COMPONENT SEQ", "Show one dead letter with its event",
     "Show one dead letter (SEQ: the number `dlq list` shows) with its event.",
     "  kubectl byron dlq show orders 3\n"},
    {BYRON_CLI_DLQ_REPLAY, "dlq replay", "COMPONENT (SEQ... | --all)",
     "Project dead letters again once their cause is fixed",
     "Project the dead letters' aggregates again, once the app is fixed: their events go through the\n"
     "sink's checks, hooks and handler as on a first delivery, in log order, and the aggregate the\n"
     "sink stopped runs again (docs/sink.md, \"Replaying a dead letter\"). An event that still fails\n"
     "stops it again; an invalid event stays a dead letter.",
     "  # Replay dead letter 3 (and every other of its aggregate)\n  kubectl byron dlq replay orders 3\n\n"
     "  # Replay every open dead letter\n  kubectl byron dlq replay orders --all\n"},
    {BYRON_CLI_DLQ_DROP, "dlq drop", "COMPONENT (SEQ... | --all)",
     "Acknowledge dead letters without applying them",
     "Take dead letters off the list without applying them; the decision is recorded with them.\n"
     "Refused for an aggregate the sink stopped: replay it (a before hook may skip the event).",
     "  kubectl byron dlq drop orders 4 --note \"forged by a test client\"\n"},
    {BYRON_CLI_REBUILD, "rebuild", "COMPONENT", "Rebuild a component's cache without downtime",
     "Ask for a rebuild of the component's cache (spec.cache.rebuild): the sink projects the log into a\n"
     "new set of collections while the API serves the old one, and the API switches when the new one\n"
     "has caught up. Follows its progress until it completes (--wait=false: only ask).",
     "  kubectl byron rebuild orders\n"},
    {BYRON_CLI_SCHEMA, "schema", "COMPONENT", "Print a component's GraphQL schema (SDL)",
     "Print the GraphQL schema the component's API serves, generated from the configuration its pods\n"
     "run (the ConfigMap <component>-config).",
     "  kubectl byron schema orders > orders.graphql\n"},
    {BYRON_CLI_VERIFY, "verify", "COMPONENT", "Check that the cache is the fold of the event log",
     "Run the fold checker in the component's sink pod (byron-sidecar --mode=verify,\n"
     "docs/consistency.md): it folds the log independently and prints each difference with the cache.\n"
     "Exit status: 0 equal, 1 differs, 3 the sink did not settle or a dependency was not reached.",
     "  kubectl byron verify orders\n"},
    {BYRON_CLI_COMPLETION, "completion", "bash|zsh", "Print a shell completion script for kubectl-byron",
     "Print a completion script for kubectl-byron run by itself. Through kubectl (1.26 and later),\n"
     "`kubectl byron <TAB>` completes with the kubectl_complete-byron installed beside it.",
     "  source <(kubectl-byron completion bash)\n"},
    {BYRON_CLI_COMPLETE, "__complete", "ARGS...", "", "", ""},
};
#define NCOMMANDS_T (sizeof COMMANDS / sizeof COMMANDS[0])

static const command_t *command_of(byron_cli_command_t c) {
    for (size_t i = 0; i < NCOMMANDS_T; i++)
        if (COMMANDS[i].id == c) return &COMMANDS[i];
    return &COMMANDS[0];
}

const char *byron_cli_command_name(byron_cli_command_t c) { return command_of(c)->name; }

int byron_cli_needs_component(byron_cli_command_t c) {
    return c == BYRON_CLI_EVENTS || c == BYRON_CLI_DLQ_LIST || c == BYRON_CLI_DLQ_SHOW ||
           c == BYRON_CLI_DLQ_REPLAY || c == BYRON_CLI_DLQ_DROP || c == BYRON_CLI_REBUILD ||
           c == BYRON_CLI_SCHEMA || c == BYRON_CLI_VERIFY;
}

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

int byron_cli_parse_duration(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || v < 0) return -1;
    long mult = !*end || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : 0;
    if (!mult || v > 86400 / mult || v * mult < 1) return -1;
    *out = (int)(v * mult);
    return 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || s[0] == '-' || v > max) return -1;
    *out = v;
    return 0;
}

/* The command the positional words name; *used: how many words it took. */
static int command_from(const char *const *pos, int npos, byron_cli_command_t *c, int *used, char *err,
                        size_t cap) {
    if (!npos) {
        *c = BYRON_CLI_HELP;
        *used = 0;
        return 0;
    }
    if (!strcmp(pos[0], "dlq")) {
        static const struct {
            const char *n;
            byron_cli_command_t c;
        } SUB[] = {{"list", BYRON_CLI_DLQ_LIST},
                   {"ls", BYRON_CLI_DLQ_LIST},
                   {"show", BYRON_CLI_DLQ_SHOW},
                   {"replay", BYRON_CLI_DLQ_REPLAY},
                   {"drop", BYRON_CLI_DLQ_DROP}};
        if (npos < 2) return fail(err, cap, "dlq needs a command: list, show, replay or drop");
        for (size_t i = 0; i < sizeof SUB / sizeof SUB[0]; i++)
            if (!strcmp(pos[1], SUB[i].n)) {
                *c = SUB[i].c;
                *used = 2;
                return 0;
            }
        return fail(err, cap, "unknown command \"%s\" for \"kubectl byron dlq\" (list, show, replay, drop)",
                    pos[1]);
    }
    for (size_t i = 0; i < NCOMMANDS_T; i++)
        if (!strchr(COMMANDS[i].name, ' ') && !strcmp(pos[0], COMMANDS[i].name)) {
            *c = COMMANDS[i].id;
            *used = 1;
            return 0;
        }
    return fail(err, cap, "unknown command \"%s\" for \"kubectl byron\"", pos[0]);
}

static const flag_t *flag_long(const char *name, size_t len) {
    for (size_t i = 0; i < NFLAGS; i++)
        if (strlen(FLAGS[i].name) == len && !strncmp(FLAGS[i].name, name, len)) return &FLAGS[i];
    return NULL;
}

static const flag_t *flag_short(char c) {
    for (size_t i = 0; i < NFLAGS; i++)
        if (FLAGS[i].shorthand && FLAGS[i].shorthand == c) return &FLAGS[i];
    return NULL;
}

typedef struct seen {
    const flag_t *flag;
    const char *value;
    const char *as; /* as typed, for messages */
} seen_t;

/* A flag's value into a; the command is known by now. */
static int apply(byron_cli_args_t *a, const seen_t *s, char *err, size_t cap) {
    const char *v = s->value;
    uint64_t u;
    switch (s->flag->id) {
    case F_KUBECONFIG: a->kubeconfig = v; break;
    case F_CONTEXT: a->context = v; break;
    case F_NAMESPACE:
        if (!*v) return fail(err, cap, "%s: a namespace may not be empty", s->as);
        a->namespace_ = v;
        break;
    case F_OUTPUT:
        if (!strcmp(v, "json"))
            a->output = BYRON_CLI_OUT_JSON;
        else if (!strcmp(v, "yaml"))
            a->output = BYRON_CLI_OUT_YAML;
        else if (!strcmp(v, "") || !strcmp(v, "wide") || !strcmp(v, "table"))
            a->output = BYRON_CLI_OUT_TABLE;
        else
            return fail(
                err, cap,
                "unable to match a printer suitable for the output format \"%s\", allowed formats are: "
                "json,yaml",
                v);
        a->output_set = 1;
        break;
    case F_DIRECT: a->direct = 1; break;
    case F_HELP:
    case F_VERSION: break; /* decided before the values */
    case F_MODEL: a->model = v; break;
    case F_ID: a->id = v; break;
    case F_FROM:
        if (parse_u64(v, UINT64_MAX / 2, &u) || !u)
            return fail(err, cap, "invalid argument \"%s\" for \"--from\": a stream sequence (1 or more)", v);
        a->from = u;
        break;
    case F_LIMIT:
        if (parse_u64(v, 100000000, &u))
            return fail(err, cap, "invalid argument \"%s\" for \"--limit\": 0 to 100000000", v);
        a->limit = (int64_t)u;
        break;
    case F_FOLLOW: a->follow = 1; break;
    case F_ALL: a->all = 1; break;
    case F_NOTE: a->note = v; break;
    case F_WAIT:
        if (!v || !strcmp(v, "true"))
            a->wait = 1;
        else if (!strcmp(v, "false"))
            a->wait = 0;
        else
            return fail(err, cap, "invalid argument \"%s\" for \"--wait\": true or false", v);
        break;
    case F_TIMEOUT:
        if (byron_cli_parse_duration(v, &a->timeout_s))
            return fail(err, cap,
                        "invalid argument \"%s\" for \"--timeout\": a duration such as 30s, 5m or 1h", v);
        break;
    }
    return 0;
}

/* `__complete WORDS...`: the words as they are, flags included; the global
 * flags before the word being completed still apply (namespace, context). */
static void parse_complete(int argc, char *const argv[], byron_cli_args_t *a) {
    a->command = BYRON_CLI_COMPLETE;
    for (int i = 2; i < argc && a->nwords < BYRON_CLI_MAX_WORDS; i++) a->words[a->nwords++] = argv[i];
    for (int i = 0; i + 1 < a->nwords; i++) {
        const char *w = a->words[i];
        const char **dst = !strcmp(w, "-n") || !strcmp(w, "--namespace") ? &a->namespace_
                           : !strcmp(w, "--context")                     ? &a->context
                           : !strcmp(w, "--kubeconfig")                  ? &a->kubeconfig
                                                                         : NULL;
        if (dst && i + 2 < a->nwords) *dst = a->words[++i];
    }
}

/* The command line cut into positional words and flags (with their values),
 * before anyone knows which command the words name. */
typedef struct words {
    const char *pos[BYRON_CLI_MAX_SEQS + 8];
    int npos;
    seen_t seen[128];
    int nseen;
    int help, version;
} words_t;

static int add_positional(words_t *w, const char *word, char *err, size_t cap) {
    if (w->npos == (int)(sizeof w->pos / sizeof w->pos[0])) return fail(err, cap, "too many arguments");
    w->pos[w->npos++] = word;
    return 0;
}

/* The flag argv[*i] (and its value, which may be argv[*i + 1]). A boolean
 * flag given as --x=false counts as not given. */
static int read_flag(int argc, char *const argv[], int *i, words_t *ws, char *err, size_t cap) {
    const char *w = argv[*i];
    if (ws->nseen == (int)(sizeof ws->seen / sizeof ws->seen[0])) return fail(err, cap, "too many flags");
    seen_t *s = &ws->seen[ws->nseen];
    s->as = w;
    const char *inline_v = NULL;
    if (w[1] == '-') {
        const char *name = w + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (!(s->flag = flag_long(name, len))) return fail(err, cap, "unknown flag: --%.*s", (int)len, name);
        if (eq) inline_v = eq + 1;
    } else {
        if (!(s->flag = flag_short(w[1])))
            return fail(err, cap, "unknown shorthand flag: '%c' in %s", w[1], w);
        if (w[2]) inline_v = w[2] == '=' ? w + 3 : w + 2;
    }
    if (s->flag->value == 1) {
        if (!inline_v) {
            if (*i + 1 >= argc) return fail(err, cap, "flag needs an argument: %s", w);
            inline_v = argv[++*i];
        }
    } else if (s->flag->value == 0 && inline_v && strcmp(inline_v, "true") != 0) {
        if (!strcmp(inline_v, "false")) return 0; /* --follow=false: as if not given */
        return fail(err, cap, "invalid argument \"%s\" for \"%s\": true or false", inline_v, w);
    }
    s->value = inline_v;
    if (s->flag->id == F_HELP) ws->help = 1;
    if (s->flag->id == F_VERSION) ws->version = 1;
    ws->nseen++;
    return 0;
}

static int split_words(int argc, char *const argv[], words_t *ws, char *err, size_t cap) {
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (!strcmp(w, "--")) {
            for (i++; i < argc; i++)
                if (add_positional(ws, argv[i], err, cap)) return -1;
            break;
        }
        if (w[0] != '-' || !w[1]) {
            if (add_positional(ws, w, err, cap)) return -1;
            continue;
        }
        if (read_flag(argc, argv, &i, ws, err, cap)) return -1;
    }
    return 0;
}

/* The dead letters `dlq show|replay|drop` name: SEQs or --all. */
static int dead_letters(byron_cli_args_t *a, const char *cname, const char *const *rest, int nrest, char *err,
                        size_t cap) {
    if (a->command == BYRON_CLI_DLQ_SHOW && nrest != 1)
        return fail(err, cap, "dlq show needs one dead letter: its SEQ from dlq list");
    if (!a->all && !nrest)
        return fail(err, cap, "%s needs dead letters (their SEQ from dlq list) or --all", cname);
    if (a->all && nrest) return fail(err, cap, "%s: dead letters or --all, not both", cname);
    if (nrest > BYRON_CLI_MAX_SEQS)
        return fail(err, cap, "at most %d dead letters at once", BYRON_CLI_MAX_SEQS);
    for (int i = 0; i < nrest; i++) {
        uint64_t u;
        if (parse_u64(rest[i], UINT64_MAX / 2, &u) || !u)
            return fail(err, cap, "\"%s\" is not a dead letter's SEQ (a number dlq list shows)", rest[i]);
        a->seqs[a->nseqs++] = rest[i];
    }
    return 0;
}

/* The words after the command's name: what each command takes. */
static int positionals(byron_cli_args_t *a, const char *const *rest, int nrest, char *err, size_t cap) {
    byron_cli_command_t c = a->command;
    const char *cname = byron_cli_command_name(c);
    switch (c) {
    case BYRON_CLI_HELP:
    case BYRON_CLI_VERSION:
    case BYRON_CLI_OPTIONS:
        if (nrest)
            return fail(err, cap, "unexpected argument \"%s\" for \"kubectl byron %s\"", rest[0], cname);
        return 0;
    case BYRON_CLI_STATUS:
        if (nrest > 1) return fail(err, cap, "status takes at most one COMPONENT, got %d arguments", nrest);
        a->component = nrest ? rest[0] : NULL;
        return 0;
    case BYRON_CLI_COMPLETION:
        if (nrest != 1 || (strcmp(rest[0], "bash") != 0 && strcmp(rest[0], "zsh") != 0))
            return fail(err, cap, "completion needs a shell: bash or zsh");
        a->shell = rest[0];
        return 0;
    default: break;
    }
    if (!nrest) return fail(err, cap, "%s needs a COMPONENT (kubectl byron status lists them)", cname);
    a->component = rest[0];
    rest++, nrest--;
    if (c == BYRON_CLI_DLQ_SHOW || c == BYRON_CLI_DLQ_REPLAY || c == BYRON_CLI_DLQ_DROP)
        return dead_letters(a, cname, rest, nrest, err, cap);
    if (nrest) return fail(err, cap, "unexpected argument \"%s\" for \"kubectl byron %s\"", rest[0], cname);
    if (a->id && !a->model) return fail(err, cap, "--id needs --model");
    return 0;
}

int byron_cli_args_parse(int argc, char *const argv[], byron_cli_args_t *a, char *err, size_t cap) {
    memset(a, 0, sizeof *a);
    a->limit = -1;
    a->wait = 1;
    a->help_for = BYRON_CLI_HELP;
    err[0] = '\0';
    if (argc > 1 && !strcmp(argv[1], "__complete")) {
        parse_complete(argc, argv, a);
        return 0;
    }
    words_t ws = {0};
    if (split_words(argc, argv, &ws, err, cap)) return -1;
    int used = 0;
    byron_cli_command_t c;
    /* `help COMMAND` and `--help` explain, they do not run */
    if (ws.npos && !strcmp(ws.pos[0], "help")) {
        a->command = BYRON_CLI_HELP;
        if (ws.npos > 1 && command_from(ws.pos + 1, ws.npos - 1, &a->help_for, &used, err, cap)) return -1;
        return 0;
    }
    if (command_from(ws.pos, ws.npos, &c, &used, err, cap)) return -1;
    a->command = c;
    if (ws.version && c == BYRON_CLI_HELP) {
        a->command = BYRON_CLI_VERSION;
        return 0;
    }
    for (int i = 0; i < ws.nseen; i++) {
        if (!(ws.seen[i].flag->commands & BIT(c)) && ws.seen[i].flag->id != F_HELP)
            return fail(err, cap, "unknown flag: %s for \"kubectl byron %s\"", ws.seen[i].as,
                        byron_cli_command_name(c));
        if (apply(a, &ws.seen[i], err, cap)) return -1;
    }
    if (ws.help) {
        a->help_for = c;
        a->command = BYRON_CLI_HELP;
        return 0;
    }
    return positionals(a, ws.pos + used, ws.npos - used, err, cap);
}

/* ---- help -------------------------------------------------------------- */

static void print_flags(FILE *f, unsigned mask, int globals) {
    for (size_t i = 0; i < NFLAGS; i++) {
        const flag_t *fl = &FLAGS[i];
        int global = fl->commands == ALL_COMMANDS || fl->id == F_DIRECT;
        if (!(fl->commands & mask) || global != globals || fl->id == F_HELP) continue;
        if (fl->shorthand)
            fprintf(f, "    -%c, --%s%s\n", fl->shorthand, fl->name, fl->help);
        else
            fprintf(f, "    --%s%s\n", fl->name, fl->help);
    }
}

void byron_cli_help(FILE *f, byron_cli_command_t c) {
    if (c == BYRON_CLI_HELP) {
        fprintf(
            f,
            "Operate Byron components: their status, event log and dead letters, cache rebuilds, schema and\n"
            "the fold checker. Runs against the current kubeconfig context, like kubectl.\n\n"
            "Commands:\n");
        for (size_t i = 0; i < NCOMMANDS_T; i++)
            if (COMMANDS[i].short_help[0])
                fprintf(f, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].short_help);
        fprintf(f, "\nUsage:\n  kubectl byron [command] [flags] [options]\n\n"
                   "Use \"kubectl byron <command> --help\" for more information about a given command.\n"
                   "Use \"kubectl byron options\" for a list of global command-line options (applies to all "
                   "commands).\n");
        return;
    }
    const command_t *cmd = command_of(c);
    fprintf(f, "%s\n\n", cmd->long_help);
    if (c == BYRON_CLI_OPTIONS) {
        fprintf(f, "The following options can be passed to any command:\n\n");
        print_flags(f, ALL_COMMANDS, 1);
        return;
    }
    if (cmd->examples[0]) fprintf(f, "Examples:\n%s\n", cmd->examples);
    int any = 0;
    for (size_t i = 0; i < NFLAGS; i++)
        any |= (FLAGS[i].commands & BIT(c)) && FLAGS[i].commands != ALL_COMMANDS && FLAGS[i].id != F_DIRECT;
    if (any) {
        fprintf(f, "Options:\n");
        print_flags(f, BIT(c), 0);
        fprintf(f, "\n");
    }
    fprintf(f, "Usage:\n  kubectl byron %s %s%s[options]\n\n", cmd->name, cmd->args, cmd->args[0] ? " " : "");
    fprintf(f, "Use \"kubectl byron options\" for a list of global command-line options (applies to all "
               "commands).\n");
}

/* ---- completion -------------------------------------------------------- */

static void offer(FILE *f, const char *word, const char *candidate, const char *desc) {
    if (strncmp(candidate, word, strlen(word)) != 0) return;
    if (desc && *desc)
        fprintf(f, "%s\t%s\n", candidate, desc);
    else
        fprintf(f, "%s\n", candidate);
}

void byron_cli_complete(FILE *f, const byron_cli_args_t *a, const char *const *components) {
    enum { NO_FILE = 4, DEFAULT = 0 };
    int n = a->nwords;
    const char *word = n ? a->words[n - 1] : "";
    const char *prev = n > 1 ? a->words[n - 2] : "";
    int directive = NO_FILE;
    /* a flag's value */
    if (!strcmp(prev, "-o") || !strcmp(prev, "--output")) {
        offer(f, word, "json", NULL);
        offer(f, word, "yaml", NULL);
        fprintf(f, ":%d\n", NO_FILE);
        return;
    }
    if (!strcmp(prev, "--kubeconfig")) {
        fprintf(f, ":%d\n", DEFAULT); /* files */
        return;
    }
    const flag_t *pf = prev[0] == '-'
                           ? (prev[1] == '-' ? flag_long(prev + 2, strlen(prev + 2)) : flag_short(prev[1]))
                           : NULL;
    if (pf && pf->value == 1 && !strchr(prev, '=') && !(prev[1] != '-' && prev[2])) {
        fprintf(f, ":%d\n", NO_FILE); /* a value we cannot guess */
        return;
    }
    /* the positional words before this one (flag values skipped) */
    const char *pos[BYRON_CLI_MAX_WORDS] = {0};
    int npos = 0;
    for (int i = 0; i + 1 < n; i++) {
        const char *w = a->words[i];
        if (w[0] == '-' && w[1]) {
            const flag_t *fl = w[1] == '-' ? flag_long(w + 2, strcspn(w + 2, "=")) : flag_short(w[1]);
            if (fl && fl->value == 1 && !strchr(w, '=') && (w[1] == '-' || !w[2])) i++;
            continue;
        }
        pos[npos++] = w;
    }
    byron_cli_command_t c = BYRON_CLI_HELP;
    int used = 0;
    char err[256];
    int known = npos && command_from(pos, npos, &c, &used, err, sizeof err) == 0;
    if (word[0] == '-') { /* flags of the command (all of them before one is known) */
        for (size_t i = 0; i < NFLAGS; i++) {
            if (known && !(FLAGS[i].commands & BIT(c))) continue;
            char name[64];
            snprintf(name, sizeof name, "--%s", FLAGS[i].name);
            offer(f, word, name, NULL);
        }
    } else if (!npos) {
        for (size_t i = 0; i < NCOMMANDS_T; i++)
            if (COMMANDS[i].short_help[0] && !strchr(COMMANDS[i].name, ' '))
                offer(f, word, COMMANDS[i].name, COMMANDS[i].short_help);
        offer(f, word, "dlq", "Inspect, replay and drop dead letters");
    } else if (npos == 1 && !strcmp(pos[0], "dlq")) {
        static const char *const SUB[] = {"list", "show", "replay", "drop"};
        for (size_t i = 0; i < 4; i++) offer(f, word, SUB[i], NULL);
    } else if (known && c == BYRON_CLI_COMPLETION && npos == used) {
        offer(f, word, "bash", NULL);
        offer(f, word, "zsh", NULL);
    } else if (known && c == BYRON_CLI_HELP && npos == 1) {
        for (size_t i = 0; i < NCOMMANDS_T; i++)
            if (COMMANDS[i].short_help[0] && !strchr(COMMANDS[i].name, ' '))
                offer(f, word, COMMANDS[i].name, NULL);
    } else if (known && npos == used && (byron_cli_needs_component(c) || c == BYRON_CLI_STATUS)) {
        for (const char *const *k = components; k && *k; k++) offer(f, word, *k, NULL);
    }
    fprintf(f, ":%d\n", directive);
}
