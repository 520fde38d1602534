/* main.c — kubectl-byron, the kubectl plugin (`kubectl byron ...`): the
 * command line (cli_args.c), the current context (cli_kube.c), then one
 * command (cli_commands.h). Process-wide: libcurl is initialised here, once,
 * before anything else runs. docs/cli.md. */
#include "cli_args.h"
#include "cli_commands.h"
#include "cli_kube.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char BASH[] =
    "# bash completion for kubectl-byron (`kubectl byron <TAB>` completes through kubectl_complete-byron)\n"
    "_kubectl_byron() {\n"
    "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" out directive\n"
    "    out=$(kubectl-byron __complete \"${COMP_WORDS[@]:1:$COMP_CWORD}\" 2>/dev/null) || return\n"
    "    directive=${out##*:}\n"
    "    out=${out%:*}\n"
    "    local IFS=$'\\n'\n"
    "    COMPREPLY=($(compgen -W \"$(printf '%s\\n' \"$out\" | cut -f1)\" -- \"$cur\"))\n"
    "    if [ $((directive & 4)) -eq 0 ] && [ ${#COMPREPLY[@]} -eq 0 ]; then\n"
    "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "    fi\n"
    "}\n"
    "complete -F _kubectl_byron kubectl-byron\n";

/* The component names for a completion: best effort, silent. NULL-terminated. */
static char **component_names(const byron_cli_args_t *a) {
    byron_cli_kube_t k;
    byron_err_t err = {0};
    json_object *items = NULL;
    char **names = NULL;
    if (byron_cli_kube_open(a, &k, &err) != BYRON_OK) return NULL;
    if (byron_cli_components(&k, &items, &err) == BYRON_OK) {
        size_t n = json_object_array_length(items);
        names = calloc(n + 1, sizeof *names);
        for (size_t i = 0; names && i < n; i++) {
            const char *nm = byron_cli_str(json_object_array_get_idx(items, i), "metadata", "name", NULL);
            names[i] = strdup(nm ? nm : "");
        }
    }
    json_object_put(items);
    byron_cli_kube_close(&k);
    return names;
}

static int run(const byron_cli_args_t *a) {
    switch (a->command) {
    case BYRON_CLI_HELP: byron_cli_help(stdout, a->help_for); return 0;
    case BYRON_CLI_OPTIONS: byron_cli_help(stdout, BYRON_CLI_OPTIONS); return 0;
    case BYRON_CLI_VERSION: printf("kubectl-byron %s\n", BYRON_VERSION); return 0;
    case BYRON_CLI_COMPLETION:
        if (!strcmp(a->shell, "zsh")) printf("autoload -U +X bashcompinit && bashcompinit\n");
        fputs(BASH, stdout);
        return 0;
    case BYRON_CLI_COMPLETE: {
        char **names = component_names(a);
        byron_cli_complete(stdout, a, (const char *const *)names);
        for (char **p = names; p && *p; p++) free(*p);
        free(names);
        return 0;
    }
    default: break;
    }
    byron_cli_kube_t k;
    byron_err_t err = {0};
    int rc = -1;
    if (byron_cli_kube_open(a, &k, &err) == BYRON_OK) {
        switch (a->command) {
        case BYRON_CLI_STATUS: rc = byron_cli_status(&k, a, stdout, &err); break;
        case BYRON_CLI_EVENTS: rc = byron_cli_events(&k, a, stdout, &err); break;
        case BYRON_CLI_REBUILD: rc = byron_cli_rebuild(&k, a, stdout, &err); break;
        case BYRON_CLI_SCHEMA: rc = byron_cli_schema(&k, a, stdout, &err); break;
        case BYRON_CLI_VERIFY: rc = byron_cli_verify(&k, a, stdout, &err); break;
        default: rc = byron_cli_dlq(&k, a, stdout, &err); break;
        }
    }
    byron_cli_kube_close(&k);
    if (rc < 0) {
        /* kubectl's two kinds: the server's own words, or ours after "error: " */
        if (!strncmp(err.msg, "Error from server", 17) || !strncmp(err.msg, "Unable to connect", 17))
            fprintf(stderr, "%s\n", err.msg);
        else
            fprintf(stderr, "error: %s\n", err.msg[0] ? err.msg : "failed");
        return 1;
    }
    return rc;
}

int main(int argc, char **argv) {
    byron_cli_args_t a;
    char err[512];
    if (byron_cli_args_parse(argc, argv, &a, err, sizeof err)) {
        fprintf(stderr, "error: %s\nSee 'kubectl byron --help' for usage.\n", err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed stdout ends the output through a failed write, not a signal */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = run(&a);
    fflush(stdout);
    curl_global_cleanup();
    return rc;
}
