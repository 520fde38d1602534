/* test_cli_args.c — kubectl-byron's command line: every command and flag as
 * kubectl users type them, the refusals (worded as kubectl words them), the
 * help texts and the completion protocol. */
#include "cli_args.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* The parsed strings point into the command line's copy: the copies live
 * until the test ends, then the suite's fini frees them. */
static char *copies[256];
static size_t ncopies;

static char *keep(const char *line) {
    cr_assert_lt(ncopies, sizeof copies / sizeof copies[0]);
    return copies[ncopies++] = strdup(line);
}

static void release(void) {
    while (ncopies) free(copies[--ncopies]);
}

TestSuite(cli_args, .fini = release);

static int parse(byron_cli_args_t *a, char *err, const char *line) {
    char *copy = keep(line), *argv[64] = {"kubectl-byron"};
    int argc = 1;
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    return byron_cli_args_parse(argc, argv, a, err, 256);
}

static void ok(byron_cli_args_t *a, const char *line) {
    char err[256];
    cr_assert_eq(parse(a, err, line), 0, "%s: %s", line, err);
}

static void refused(const char *line, const char *needle) {
    byron_cli_args_t a;
    char err[256];
    cr_assert_eq(parse(&a, err, line), -1, "accepted: %s", line);
    cr_assert(strstr(err, needle), "%s: '%s' lacks '%s'", line, err, needle);
}

Test(cli_args, every_command_parses) {
    byron_cli_args_t a;
    ok(&a, "");
    cr_assert_eq(a.command, BYRON_CLI_HELP);
    ok(&a, "status");
    cr_assert_eq(a.command, BYRON_CLI_STATUS);
    cr_assert_null(a.component);
    ok(&a, "status orders -o yaml");
    cr_assert_str_eq(a.component, "orders");
    cr_assert_eq(a.output, BYRON_CLI_OUT_YAML);
    ok(&a, "events orders --model Order --id o-1 --from 7 --limit 10 -f");
    cr_assert_eq(a.command, BYRON_CLI_EVENTS);
    cr_assert_str_eq(a.model, "Order");
    cr_assert_str_eq(a.id, "o-1");
    cr_assert_eq(a.from, 7);
    cr_assert_eq(a.limit, 10);
    cr_assert(a.follow);
    ok(&a, "dlq list orders --all");
    cr_assert_eq(a.command, BYRON_CLI_DLQ_LIST);
    cr_assert(a.all);
    ok(&a, "dlq show orders 3");
    cr_assert_eq(a.command, BYRON_CLI_DLQ_SHOW);
    cr_assert_eq(a.nseqs, 1);
    ok(&a, "dlq replay orders 3 4 5 --timeout 2m");
    cr_assert_eq(a.command, BYRON_CLI_DLQ_REPLAY);
    cr_assert_eq(a.nseqs, 3);
    cr_assert_str_eq(a.seqs[2], "5");
    cr_assert_eq(a.timeout_s, 120);
    ok(&a, "dlq drop orders 4 --note forged");
    cr_assert_eq(a.command, BYRON_CLI_DLQ_DROP);
    cr_assert_str_eq(a.note, "forged");
    ok(&a, "rebuild orders --wait=false");
    cr_assert_eq(a.command, BYRON_CLI_REBUILD);
    cr_assert(!a.wait);
    ok(&a, "rebuild orders");
    cr_assert(a.wait);
    ok(&a, "schema orders");
    cr_assert_eq(a.command, BYRON_CLI_SCHEMA);
    ok(&a, "verify orders --timeout 30");
    cr_assert_eq(a.command, BYRON_CLI_VERIFY);
    cr_assert_eq(a.timeout_s, 30);
    ok(&a, "completion zsh");
    cr_assert_str_eq(a.shell, "zsh");
    ok(&a, "version");
    cr_assert_eq(a.command, BYRON_CLI_VERSION);
    ok(&a, "--version");
    cr_assert_eq(a.command, BYRON_CLI_VERSION);
    ok(&a, "options");
    cr_assert_eq(a.command, BYRON_CLI_OPTIONS);
}

Test(cli_args, global_flags_anywhere_in_every_spelling) {
    byron_cli_args_t a;
    ok(&a, "-n shop status orders");
    cr_assert_str_eq(a.namespace_, "shop");
    ok(&a, "status orders --namespace=shop --context=prod --kubeconfig /k");
    cr_assert_str_eq(a.namespace_, "shop");
    cr_assert_str_eq(a.context, "prod");
    cr_assert_str_eq(a.kubeconfig, "/k");
    ok(&a, "status -nshop -ojson");
    cr_assert_str_eq(a.namespace_, "shop");
    cr_assert_eq(a.output, BYRON_CLI_OUT_JSON);
    ok(&a, "dlq --direct list orders");
    cr_assert(a.direct);
    ok(&a, "events orders --follow=false");
    cr_assert(!a.follow);
    ok(&a, "events -- orders");
    cr_assert_str_eq(a.component, "orders");
}

Test(cli_args, help_in_every_spelling) {
    byron_cli_args_t a;
    ok(&a, "--help");
    cr_assert_eq(a.command, BYRON_CLI_HELP);
    cr_assert_eq(a.help_for, BYRON_CLI_HELP);
    ok(&a, "status -h");
    cr_assert_eq(a.command, BYRON_CLI_HELP);
    cr_assert_eq(a.help_for, BYRON_CLI_STATUS);
    ok(&a, "help dlq replay");
    cr_assert_eq(a.help_for, BYRON_CLI_DLQ_REPLAY);
    ok(&a, "dlq replay --help"); /* no COMPONENT needed to ask */
    cr_assert_eq(a.help_for, BYRON_CLI_DLQ_REPLAY);
}

Test(cli_args, refusals_say_what_is_wrong) {
    refused("explode", "unknown command \"explode\" for \"kubectl byron\"");
    refused("dlq", "dlq needs a command");
    refused("dlq purge orders", "unknown command \"purge\" for \"kubectl byron dlq\"");
    refused("status --bogus", "unknown flag: --bogus");
    refused("status -x", "unknown shorthand flag: 'x' in -x");
    refused("status --model Order", "unknown flag: --model for \"kubectl byron status\"");
    refused("events", "events needs a COMPONENT");
    refused("events orders --model", "flag needs an argument: --model");
    refused("events orders --id o-1", "--id needs --model");
    refused("events orders --from 0", "invalid argument \"0\" for \"--from\"");
    refused("events orders --limit -3", "invalid argument \"-3\" for \"--limit\"");
    refused("status -o xml", "unable to match a printer suitable for the output format \"xml\"");
    refused("status a b", "at most one COMPONENT");
    refused("dlq replay orders", "needs dead letters");
    refused("dlq replay orders 3 --all", "not both");
    refused("dlq replay orders three", "\"three\" is not a dead letter's SEQ");
    refused("dlq show orders 1 2", "one dead letter");
    refused("schema orders extra", "unexpected argument \"extra\"");
    refused("rebuild orders --wait=maybe", "for \"--wait\": true or false");
    refused("rebuild orders --timeout soon", "a duration such as 30s");
    refused("completion fish", "bash or zsh");
    refused("status -n", "flag needs an argument: -n");
    refused("status --namespace=", "may not be empty");
    refused("events orders --follow=yes", "true or false");
}

Test(cli_args, durations) {
    int s = 0;
    cr_assert_eq(byron_cli_parse_duration("45", &s), 0);
    cr_assert_eq(s, 45);
    cr_assert_eq(byron_cli_parse_duration("30s", &s), 0);
    cr_assert_eq(s, 30);
    cr_assert_eq(byron_cli_parse_duration("5m", &s), 0);
    cr_assert_eq(s, 300);
    cr_assert_eq(byron_cli_parse_duration("1h", &s), 0);
    cr_assert_eq(s, 3600);
    cr_assert_eq(byron_cli_parse_duration("0s", &s), -1);
    cr_assert_eq(byron_cli_parse_duration("25h", &s), -1);
    cr_assert_eq(byron_cli_parse_duration("1d", &s), -1);
    cr_assert_eq(byron_cli_parse_duration("", &s), -1);
}

static char *help_of(byron_cli_command_t c) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    byron_cli_help(f, c);
    fclose(f);
    return buf;
}

Test(cli_args, help_texts_are_kubectls_shape) {
    char *h = help_of(BYRON_CLI_HELP);
    cr_assert(strstr(h, "Commands:\n  help "), "%s", h);
    cr_assert(strstr(h, "  status       "), "%s", h);
    cr_assert(
        strstr(h, "Use \"kubectl byron <command> --help\" for more information about a given command."));
    cr_assert_null(strstr(h, "__complete"));
    free(h);
    h = help_of(BYRON_CLI_EVENTS);
    cr_assert(
        strstr(
            h,
            "Examples:\n  # The events of one order\n  kubectl byron events orders --model Order --id o-1"),
        "%s", h);
    cr_assert(strstr(h, "Options:\n"), "%s", h);
    cr_assert(strstr(h, "    -f, --follow=false: "), "%s", h);
    cr_assert(strstr(h, "Usage:\n  kubectl byron events COMPONENT [options]\n"), "%s", h);
    cr_assert_null(strstr(h, "--kubeconfig"), "global options belong to `options`: %s", h);
    free(h);
    h = help_of(BYRON_CLI_OPTIONS);
    cr_assert(strstr(h, "    -n, --namespace='': "), "%s", h);
    cr_assert(strstr(h, "    --kubeconfig='': "), "%s", h);
    cr_assert(strstr(h, "    --direct=false: "), "%s", h);
    free(h);
}

/* Cobra's __complete: candidates, one per line, then ":<directive>". */
static char *complete(const char *line, const char *const *components) {
    byron_cli_args_t a;
    char err[256], *buf = NULL;
    size_t len = 0;
    char full[512];
    snprintf(full, sizeof full, "__complete %s", line);
    /* the last word may be empty: "status " completes "" */
    char *copy = keep(full), *argv[64] = {"kubectl-byron"};
    int argc = 1;
    char *p = copy;
    for (;;) {
        char *sp = strchr(p, ' ');
        if (sp) *sp = '\0';
        argv[argc++] = p;
        if (!sp) break;
        p = sp + 1;
    }
    cr_assert_eq(byron_cli_args_parse(argc, argv, &a, err, sizeof err), 0, "%s", err);
    FILE *f = open_memstream(&buf, &len);
    byron_cli_complete(f, &a, components);
    fclose(f);
    return buf;
}

Test(cli_args, completion_offers_commands_components_and_flag_values) {
    const char *const comps[] = {"orders", "shipping", NULL};
    char *c = complete("", comps);
    cr_assert(strstr(c, "status\t") && strstr(c, "events\t") && strstr(c, "dlq\t"), "%s", c);
    cr_assert(strstr(c, ":4\n"), "%s", c);
    cr_assert_null(strstr(c, "__complete"));
    free(c);
    c = complete("st", comps);
    cr_assert_str_eq(c, "status\tShow the components of a namespace, or one in detail\n:4\n");
    free(c);
    c = complete("dlq ", comps);
    cr_assert_str_eq(c, "list\nshow\nreplay\ndrop\n:4\n");
    free(c);
    c = complete("dlq replay sh", comps);
    cr_assert_str_eq(c, "shipping\n:4\n");
    free(c);
    c = complete("-n shop events ", comps);
    cr_assert_str_eq(c, "orders\nshipping\n:4\n");
    free(c);
    c = complete("events orders ", comps); /* the COMPONENT is there: nothing more */
    cr_assert_str_eq(c, ":4\n");
    free(c);
    c = complete("status orders -o ", comps);
    cr_assert_str_eq(c, "json\nyaml\n:4\n");
    free(c);
    c = complete("events orders --fo", comps);
    cr_assert_str_eq(c, "--follow\n:4\n");
    free(c);
    c = complete("--kubeconfig ", comps);
    cr_assert_str_eq(c, ":0\n"); /* files */
    free(c);
    c = complete("completion ", comps);
    cr_assert_str_eq(c, "bash\nzsh\n:4\n");
    free(c);
}
