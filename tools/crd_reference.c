/* crd_reference.c — byron-crd-reference: the ByronComponent CRD as a manual.
 *
 * The CRD (crds/byron.io_byroncomponents.yaml) is the one source of the
 * resource's contract: its descriptions are what `kubectl explain` prints, and
 * the reference section of docs/component-spec.md is generated from it here.
 * So that neither can drift, this tool also lints the CRD:
 *
 *   - every property has a description (the API server forbids one only on
 *     the root metadata, whose text kubectl takes from ObjectMeta);
 *   - the description states what the schema enforces: "Default: X." for a
 *     scalar default, the numbers of minimum/maximum/minLength/maxLength/
 *     minItems/maxItems, the pattern verbatim (quantities excepted), the enum
 *     values — for an array, its items' bounds too;
 *   - every CEL rule has a `message` (the rule in words: it goes into the
 *     reference) and, where the API server would print the value as "object"
 *     or "array", a `messageExpression` naming the offending value.
 *
 *   byron-crd-reference --check DOC CRD    exit 1 if DOC's section is stale or the CRD fails a lint
 *   byron-crd-reference --write DOC CRD    rewrite DOC's section (still exit 1 on a lint failure)
 *   byron-crd-reference --paths CRD        print every property path (spec.models[].fields[].name)
 *
 * The section sits between BEGIN_MARK and END_MARK lines in DOC. */
#include "byron/file.h"
#include "byron/json.h"
#include "byron/kubeconfig.h" /* byron_yaml_parse, byron_file_read */
#include "byron/yaml.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BEGIN_MARK "<!-- BEGIN crd-reference"
#define END_MARK "<!-- END crd-reference -->"
#define MAX_FILE (4u << 20)

/* --- a growing string ---------------------------------------------------- */
typedef struct {
    char *s;
    size_t len, cap;
} buf_t;

static void bputs(buf_t *b, const char *s) {
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            fputs("byron-crd-reference: out of memory\n", stderr);
            exit(2);
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

static void bprintf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(buf_t *b, const char *fmt, ...) {
    char tmp[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    bputs(b, tmp);
}

/* --- lint ------------------------------------------------------------------ */
static int lint_errors;
static const char *crd_file = "crds/byron.io_byroncomponents.yaml";

static void lint(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lint(const char *path, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s: %s\n", crd_file, path, msg);
    lint_errors++;
}

static json_object *get(json_object *o, const char *k) {
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *get_str(json_object *o, const char *k) {
    json_object *v = get(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Whitespace collapsed: YAML folded text keeps line ends in some styles. */
static char *squeeze(const char *s) {
    char *out = malloc(strlen(s) + 1), *p = out;
    int space = 0;
    for (; *s; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\t') {
            space = p != out;
            continue;
        }
        if (space) *p++ = ' ';
        space = 0;
        *p++ = *s;
    }
    *p = '\0';
    return out;
}

/* num occurs as a whole number: "1" in "1 to 4096", not in "fnv1a32" or "16". */
static int has_number(const char *desc, const char *num) {
    size_t n = strlen(num);
    for (const char *p = strstr(desc, num); p; p = strstr(p + 1, num)) {
        int before = p > desc && (isalnum((unsigned char)p[-1]) || p[-1] == '.');
        int after = isalnum((unsigned char)p[n]);
        if (!before && !after) return 1;
    }
    return 0;
}

/* The description must state each number the schema enforces. */
static void need_number(const char *path, const char *desc, json_object *schema, const char *key,
                        const char *what) {
    json_object *v = get(schema, key);
    if (!v) return;
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)json_object_get_int64(v));
    if (!has_number(desc, num)) lint(path, "the description must state %s %s (%s)", what, num, key);
}

static void need_bounds(const char *path, const char *desc, json_object *schema, const char *of) {
    char what[64];
    snprintf(what, sizeof what, "%sthe minimum", of);
    need_number(path, desc, schema, "minimum", what);
    snprintf(what, sizeof what, "%sthe maximum", of);
    need_number(path, desc, schema, "maximum", what);
    snprintf(what, sizeof what, "%sthe minimum length", of);
    json_object *ml = get(schema, "minLength");
    if (ml && json_object_get_int64(ml) > 1) need_number(path, desc, schema, "minLength", what);
    snprintf(what, sizeof what, "%sthe maximum length", of);
    need_number(path, desc, schema, "maxLength", what);
    snprintf(what, sizeof what, "%sthe minimum count", of);
    need_number(path, desc, schema, "minItems", what);
    snprintf(what, sizeof what, "%sthe maximum count", of);
    need_number(path, desc, schema, "maxItems", what);
    const char *pat = get_str(schema, "pattern");
    if (pat && !get(schema, "x-kubernetes-int-or-string") && !strstr(desc, pat))
        lint(path, "the description must state %sthe pattern %s verbatim", of, pat);
    json_object *en = get(schema, "enum");
    for (size_t i = 0; en && i < json_object_array_length(en); i++) {
        const char *v = json_object_get_string(json_object_array_get_idx(en, i));
        if (!strstr(desc, v)) lint(path, "the description must list %sthe enum value %s", of, v);
    }
}

static void lint_default(const char *path, const char *desc, json_object *schema) {
    json_object *d = get(schema, "default");
    if (!d) return;
    char want[256];
    if (json_object_is_type(d, json_type_object) || json_object_is_type(d, json_type_array))
        snprintf(want, sizeof want, "Default: ");
    else
        snprintf(want, sizeof want, "Default: %s", json_object_get_string(d));
    if (!strstr(desc, want)) lint(path, "the description must state the default as \"%s\"", want);
}

static void lint_rules(const char *path, json_object *schema, const char *type) {
    json_object *rules = get(schema, "x-kubernetes-validations");
    for (size_t i = 0; rules && i < json_object_array_length(rules); i++) {
        json_object *r = json_object_array_get_idx(rules, i);
        char rp[600];
        snprintf(rp, sizeof rp, "%s: x-kubernetes-validations[%zu]", path, i);
        if (!get_str(r, "message")) lint(rp, "a rule needs a message (the rule in words, for the reference)");
        /* On an object or array the API server prints the value as "object": only
         * a messageExpression can say which one is at fault. */
        if ((!strcmp(type, "object") || !strcmp(type, "array")) && !get_str(r, "messageExpression"))
            lint(rp, "a rule on an %s needs a messageExpression naming the offending value", type);
    }
}

/* --- the reference -------------------------------------------------------- */
static const char *type_of(json_object *s) {
    if (get(s, "x-kubernetes-int-or-string")) return "int-or-string";
    const char *t = get_str(s, "type");
    return t ? t : "any";
}

static void type_text(json_object *s, char *out, size_t n) {
    const char *t = type_of(s), *fmt = get_str(s, "format");
    if (!strcmp(t, "array")) {
        char inner[96];
        type_text(get(s, "items"), inner, sizeof inner);
        snprintf(out, n, "[]%s", inner);
    } else if (!strcmp(t, "object") && get(s, "additionalProperties")) {
        char inner[96];
        type_text(get(s, "additionalProperties"), inner, sizeof inner);
        snprintf(out, n, "map[string]%s", inner);
    } else if (fmt) {
        snprintf(out, n, "%s (%s)", t, fmt);
    } else {
        snprintf(out, n, "%s", t);
    }
}

/* Markdown table cell: no pipes, no raw HTML. */
static void cell(buf_t *b, const char *s) {
    for (; *s; s++) {
        if (*s == '|')
            bputs(b, "\\|");
        else if (*s == '*')
            bputs(b, "\\*");
        else if (*s == '<')
            bputs(b, "&lt;");
        else if (*s == '>')
            bputs(b, "&gt;");
        else {
            char c[2] = {*s, 0};
            bputs(b, c);
        }
    }
}

static int is_required(json_object *parent, const char *name) {
    json_object *req = get(parent, "required");
    for (size_t i = 0; req && i < json_object_array_length(req); i++)
        if (!strcmp(json_object_get_string(json_object_array_get_idx(req, i)), name)) return 1;
    return 0;
}

typedef struct {
    buf_t *table; /* NULL: paths only */
    int paths;
} walk_t;

static void walk(walk_t *w, json_object *parent, const char *path, json_object *schema);

static void property(walk_t *w, json_object *parent, const char *path, const char *name, json_object *s) {
    char p[512];
    snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", name);
    if (w->paths) printf("%s\n", p);
    const char *raw = get_str(s, "description");
    char *desc = squeeze(raw ? raw : "");
    int root_metadata = !*path && !strcmp(name, "metadata");
    if (!*desc && !root_metadata) lint(p, "no description: kubectl explain would print nothing");
    const char *type = type_of(s);
    if (*desc) {
        need_bounds(p, desc, s, "");
        lint_default(p, desc, s);
        json_object *items = get(s, "items");
        if (items && strcmp(type_of(items), "object") != 0) need_bounds(p, desc, items, "each item's ");
    }
    lint_rules(p, s, type);
    json_object *items = get(s, "items");
    if (items) lint_rules(p, items, type_of(items));
    if (w->table) {
        char t[128];
        type_text(s, t, sizeof t);
        bputs(w->table, "| `");
        bputs(w->table, p);
        bprintf(w->table, "`%s | %s | ", is_required(parent, name) ? " (required)" : "", t);
        cell(w->table, root_metadata ? "Standard object metadata (ObjectMeta)." : desc);
        json_object *rules[2] = {get(s, "x-kubernetes-validations"),
                                 items ? get(items, "x-kubernetes-validations") : NULL};
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; rules[k] && i < json_object_array_length(rules[k]); i++) {
                json_object *r = json_object_array_get_idx(rules[k], i);
                const char *m = get_str(r, "message");
                char *sm = squeeze(m ? m : get_str(r, "rule"));
                bputs(w->table, "<br>**Rule**");
                if (get_str(r, "rule") && strstr(get_str(r, "rule"), "oldSelf"))
                    bputs(w->table, " (on change)");
                bputs(w->table, ": ");
                cell(w->table, sm);
                free(sm);
            }
        bputs(w->table, " |\n");
    }
    free(desc);
    if (items && !strcmp(type_of(items), "object")) {
        char ip[520];
        snprintf(ip, sizeof ip, "%s[]", p);
        walk(w, items, ip, items);
    } else {
        walk(w, s, p, s);
    }
}

static void walk(walk_t *w, json_object *parent, const char *path, json_object *schema) {
    (void)parent;
    json_object *props = get(schema, "properties");
    if (!props) return;
    json_object_object_foreach(props, name, sub) property(w, schema, path, name, sub);
}

/* --- main ------------------------------------------------------------------- */
static json_object *load_schema(const char *crd_path, json_object **root) {
    crd_file = crd_path;
    char *text = NULL;
    size_t len = 0;
    byron_err_t err = {0};
    if (byron_file_read(crd_path, MAX_FILE, &text, &len, &err) != BYRON_OK ||
        byron_yaml_parse(text, len, 1, root, &err) != BYRON_OK) {
        fprintf(stderr, "byron-crd-reference: %s: %s\n", crd_path, err.msg);
        free(text);
        return NULL;
    }
    free(text);
    json_object *versions = get(get(*root, "spec"), "versions");
    json_object *schema = versions && json_object_array_length(versions) > 0
                              ? get(get(json_object_array_get_idx(versions, 0), "schema"), "openAPIV3Schema")
                              : NULL;
    if (!schema)
        fprintf(stderr, "byron-crd-reference: %s: no spec.versions[0].schema.openAPIV3Schema\n", crd_path);
    return schema;
}

static void render(json_object *schema, buf_t *out) {
    bputs(out,
          BEGIN_MARK " (generated by tools/crd_reference.c from crds/byron.io_byroncomponents.yaml: "
                     "edit the CRD, then run build/tools/byron-crd-reference --write docs/component-spec.md "
                     "crds/byron.io_byroncomponents.yaml) -->\n");
    bputs(out, "| field | type | description |\n|---|---|---|\n");
    walk_t w = {.table = out};
    lint_rules("(root)", schema, "object");
    walk(&w, NULL, "", schema);
    bputs(out, END_MARK "\n");
}

static int usage(void) {
    fputs("usage: byron-crd-reference --check|--write DOC CRD\n"
          "       byron-crd-reference --paths CRD\n",
          stderr);
    return 2;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--paths")) {
        json_object *root = NULL, *schema = load_schema(argv[2], &root);
        if (!schema) return 2;
        walk_t w = {.paths = 1};
        walk(&w, NULL, "", schema);
        json_object_put(root);
        return 0;
    }
    if (argc != 4 || (strcmp(argv[1], "--check") != 0 && strcmp(argv[1], "--write") != 0)) return usage();
    int write = !strcmp(argv[1], "--write");
    const char *doc_path = argv[2], *crd_path = argv[3];
    json_object *root = NULL, *schema = load_schema(crd_path, &root);
    if (!schema) return 2;
    buf_t gen = {0};
    render(schema, &gen);
    json_object_put(root);

    char *doc = NULL;
    size_t len = 0;
    byron_err_t err = {0};
    if (byron_file_read(doc_path, MAX_FILE, &doc, &len, &err) != BYRON_OK) {
        fprintf(stderr, "byron-crd-reference: %s: %s\n", doc_path, err.msg);
        return 2;
    }
    char *b = strstr(doc, BEGIN_MARK), *e = b ? strstr(b, END_MARK) : NULL;
    if (!b || !e) {
        fprintf(stderr,
                "byron-crd-reference: %s: no \"%s ...\" / \"%s\" lines to put the reference between\n",
                doc_path, BEGIN_MARK, END_MARK);
        return 2;
    }
    e += strlen(END_MARK);
    if (*e == '\n') e++;
    int same = (size_t)(e - b) == gen.len && !memcmp(b, gen.s, gen.len);
    int rc = lint_errors ? 1 : 0;
    if (write && !same) {
        FILE *f = fopen(doc_path, "w");
        if (!f || fwrite(doc, 1, (size_t)(b - doc), f) != (size_t)(b - doc) ||
            fwrite(gen.s, 1, gen.len, f) != gen.len || fputs(e, f) == EOF || fclose(f) != 0) {
            fprintf(stderr, "byron-crd-reference: cannot write %s\n", doc_path);
            rc = 2;
        }
    } else if (!write && !same) {
        fprintf(stderr,
                "%s: the CRD reference is stale (crds/byron.io_byroncomponents.yaml changed): run\n"
                "  build/tools/byron-crd-reference --write %s crds/byron.io_byroncomponents.yaml\n",
                doc_path, doc_path);
        rc = 1;
    }
    if (lint_errors)
        fprintf(stderr,
                "byron-crd-reference: %d problem(s) in %s (its header says what each property needs)\n",
                lint_errors, crd_file);
    free(doc);
    free(gen.s);
    return rc;
}
