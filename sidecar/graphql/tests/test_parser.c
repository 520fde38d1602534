/*
 * test_parser.c — lexer and parser: every executable construct parses,
 * malformed documents fail with a located error, limits hold, and garbage
 * never crashes.
 */
#include "../src/internal.h"
#include "fixtures.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static byron_graphql_document_t *parse_ok(const char *src) {
    byron_graphql_document_t *doc = NULL;
    json_object *errors = NULL;
    byron_status_t st = byron_graphql_parse(src, strlen(src), NULL, &doc, &errors);
    cr_assert_eq(st, BYRON_OK, "parse failed: %s", errors ? json_object_to_json_string(errors) : "?");
    return doc;
}

/* Parses expecting failure; returns the error object (caller puts the array). */
static json_object *parse_fail(const char *src, byron_status_t want, int line, int col) {
    byron_graphql_document_t *doc = NULL;
    json_object *errors = NULL;
    byron_status_t st = byron_graphql_parse(src, strlen(src), NULL, &doc, &errors);
    cr_assert_eq(st, want, "status %d for %s", st, src);
    cr_assert_null(doc);
    cr_assert_not_null(errors);
    json_object *e = json_object_array_get_idx(errors, 0), *locs = NULL;
    if (line) {
        cr_assert(json_object_object_get_ex(e, "locations", &locs), "no locations: %s",
                  json_object_to_json_string(e));
        json_object *l = json_object_array_get_idx(locs, 0), *ln, *cn;
        json_object_object_get_ex(l, "line", &ln);
        json_object_object_get_ex(l, "column", &cn);
        cr_assert_eq(json_object_get_int(ln), line, "line of %s", json_object_to_json_string(e));
        cr_assert_eq(json_object_get_int(cn), col, "column of %s", json_object_to_json_string(e));
    }
    return errors;
}

Test(parser, kitchen_sink) {
    const char *src = "\xEF\xBB\xBF# comment\n"
                      "query Q($a: Int = 1, $b: [String!]! = [\"x\"], $c: In @dir) @onQuery {\n"
                      "  alias: field(arg: $a, list: [1, 2.5, -3e2, \"s\", true, false, null, ENUM],\n"
                      "               obj: {k: {nested: [1]}}) @include(if: true) {\n"
                      "    ... on Dog { name }\n"
                      "    ... @skip(if: false) { id }\n"
                      "    ...Frag @dir\n"
                      "  },\n"
                      "}\n"
                      "mutation M { m }\n"
                      "subscription S { s }\n"
                      "fragment Frag on Dog @fd { name }\n"
                      "{ anonymous }\n";
    byron_graphql_document_t *doc = parse_ok(src);
    const gql_definition_t *d = doc->definitions;
    cr_assert_str_eq(d->name, "Q");
    cr_assert_eq(d->operation, BYRON_GRAPHQL_QUERY);
    cr_assert_str_eq(d->variables->name, "a");
    cr_assert_eq(d->variables->default_value->kind, GQL_V_INT);
    cr_assert_eq(d->variables->next->type->kind, GQL_T_NON_NULL);
    cr_assert_eq(d->variables->next->type->of->kind, GQL_T_LIST);
    cr_assert_str_eq(d->variables->next->next->directives->name, "dir");
    const gql_selection_t *f = d->selections;
    cr_assert_str_eq(f->alias, "alias");
    cr_assert_str_eq(f->name, "field");
    cr_assert_eq(f->loc.line, 3);
    cr_assert_eq(f->loc.column, 3);
    const gql_value_t *list = f->args->next->value;
    cr_assert_eq(list->kind, GQL_V_LIST);
    gql_value_kind_t kinds[] = {GQL_V_INT,     GQL_V_FLOAT,   GQL_V_FLOAT, GQL_V_STRING,
                                GQL_V_BOOLEAN, GQL_V_BOOLEAN, GQL_V_NULL,  GQL_V_ENUM};
    int i = 0;
    for (const gql_value_t *v = list->items; v; v = v->next, i++)
        cr_assert_eq(v->kind, kinds[i], "item %d", i);
    cr_assert_eq(i, 8);
    cr_assert_eq(f->selections->kind, GQL_S_INLINE);
    cr_assert_str_eq(f->selections->type_condition, "Dog");
    cr_assert_null(f->selections->next->type_condition);
    cr_assert_eq(f->selections->next->next->kind, GQL_S_SPREAD);
    d = d->next;
    cr_assert_eq(d->operation, BYRON_GRAPHQL_MUTATION);
    d = d->next;
    cr_assert_eq(d->operation, BYRON_GRAPHQL_SUBSCRIPTION);
    d = d->next;
    cr_assert_eq(d->kind, GQL_D_FRAGMENT);
    cr_assert_str_eq(d->type_condition, "Dog");
    d = d->next;
    cr_assert_null(d->name);
    byron_graphql_document_free(doc);
}

Test(parser, strings_and_escapes) {
    byron_graphql_document_t *doc =
        parse_ok("{ f(a: \"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\", "
                 "b: \"\"\"\n    first\n      indented\n    last \\\"\"\" q\n  \"\"\") }");
    const gql_value_t *a = doc->definitions->selections->args->value;
    cr_assert_str_eq(a->str, "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
    const gql_value_t *b = doc->definitions->selections->args->next->value;
    cr_assert_str_eq(b->str, "first\n  indented\nlast \"\"\" q");
    byron_graphql_document_free(doc);
}

Test(parser, operation_lookup) {
    byron_graphql_document_t *doc = parse_ok("query A { a } mutation B { b }");
    byron_graphql_operation_kind_t k;
    byron_err_t err;
    cr_assert_eq(byron_graphql_document_operation(doc, "B", &k, &err), BYRON_OK);
    cr_assert_eq(k, BYRON_GRAPHQL_MUTATION);
    cr_assert_eq(byron_graphql_document_operation(doc, NULL, &k, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "Must provide operation name"));
    cr_assert_eq(byron_graphql_document_operation(doc, "C", &k, &err), BYRON_EINVAL);
    byron_graphql_document_free(doc);
}

Test(parser, syntax_errors_have_locations) {
    json_object *e;
    e = parse_fail("{ a", BYRON_EINVAL, 1, 4);
    cr_assert(fx_has_error(e, "Expected Name, found <EOF>"));
    json_object_put(e);
    e = parse_fail("query {\n  a(b: )\n}", BYRON_EINVAL, 2, 8);
    cr_assert(fx_has_error(e, "Unexpected \")\""));
    json_object_put(e);
    e = parse_fail("{ a(b: \"unterminated) }", BYRON_EINVAL, 1, 24);
    cr_assert(fx_has_error(e, "Unterminated string"));
    json_object_put(e);
    e = parse_fail("{ a(b: 01) }", BYRON_EINVAL, 1, 9);
    json_object_put(e);
    e = parse_fail("{ a(b: 1.) }", BYRON_EINVAL, 1, 10);
    json_object_put(e);
    e = parse_fail("{ a(b: 12abc) }", BYRON_EINVAL, 1, 10);
    json_object_put(e);
    e = parse_fail("{ a(b: \"\\x\") }", BYRON_EINVAL, 1, 9);
    cr_assert(fx_has_error(e, "Invalid character escape sequence"));
    json_object_put(e);
    e = parse_fail("{ a(b: \"\\uD800\") }", BYRON_EINVAL, 1, 9);
    json_object_put(e);
    e = parse_fail("{ a ? }", BYRON_EINVAL, 1, 5);
    cr_assert(fx_has_error(e, "Unexpected character"));
    json_object_put(e);
    e = parse_fail("", BYRON_EINVAL, 1, 1);
    json_object_put(e);
    e = parse_fail("{}", BYRON_EINVAL, 1, 2);
    json_object_put(e);
    e = parse_fail("query Q($a: Int = $b) { a }", BYRON_EINVAL, 1, 19);
    cr_assert(fx_has_error(e, "variable in constant"));
    json_object_put(e);
    e = parse_fail("fragment on on Dog { a }", BYRON_EINVAL, 1, 10);
    json_object_put(e);
    e = parse_fail("fragment F Dog { a }", BYRON_EINVAL, 1, 12);
    cr_assert(fx_has_error(e, "Expected \"on\""));
    json_object_put(e);
    e = parse_fail("{ a }\n\ntype Dog { a: Int }", BYRON_EINVAL, 3, 1);
    cr_assert(fx_has_error(e, "not executable"));
    json_object_put(e);
    e = parse_fail("{ a(b: \"caf\xc3\xa9) }", BYRON_EINVAL, 1, 16);
    json_object_put(e);
    json_object *codes = parse_fail("{ a .. }", BYRON_EINVAL, 1, 5);
    json_object *ext = NULL, *code = NULL;
    json_object_object_get_ex(json_object_array_get_idx(codes, 0), "extensions", &ext);
    json_object_object_get_ex(ext, "code", &code);
    cr_assert_str_eq(json_object_get_string(code), "GRAPHQL_PARSE_FAILED");
    json_object_put(codes);
}

Test(parser, limits) {
    byron_graphql_limits_t lim;
    byron_graphql_limits_init(&lim);
    byron_graphql_document_t *doc = NULL;
    json_object *errors = NULL;

    lim.max_document_bytes = 10;
    cr_assert_eq(byron_graphql_parse("{ aaaaaaaaaaaa }", 16, &lim, &doc, &errors), BYRON_ELIMIT);
    cr_assert(fx_has_error(errors, "bytes"));
    json_object_put(errors);

    byron_graphql_limits_init(&lim);
    lim.max_tokens = 5;
    cr_assert_eq(byron_graphql_parse("{ a b c d e f }", 15, &lim, &doc, &errors), BYRON_ELIMIT);
    cr_assert(fx_has_error(errors, "tokens"));
    json_object_put(errors);

    /* Deep nesting: limit error, not a stack overflow. */
    byron_graphql_limits_init(&lim);
    size_t n = 100000;
    char *deep = malloc(3 * n + 8);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        deep[j++] = '{';
        deep[j++] = 'a';
    }
    for (size_t i = 0; i < n; i++) deep[j++] = '}';
    deep[j] = '\0';
    lim.max_document_bytes = 0;
    lim.max_tokens = 0;
    cr_assert_eq(byron_graphql_parse(deep, j, &lim, &doc, &errors), BYRON_ELIMIT);
    cr_assert(fx_has_error(errors, "deeper than"));
    json_object_put(errors);
    memset(deep, '[', n);
    memcpy(deep, "{a(b:", 5);
    cr_assert_eq(byron_graphql_parse(deep, n, &lim, &doc, &errors), BYRON_ELIMIT);
    json_object_put(errors);
    free(deep);
}

Test(parser, garbage_never_crashes) {
    unsigned seed = 12345;
    const char alphabet[] = "{}()[]:$@!.=\"\\ \n\t,#abcXYZ_019-+eE\xc3\xa9\x00\"\"\"on...|&";
    char buf[256];
    for (int round = 0; round < 3000; round++) {
        size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf));
        for (size_t i = 0; i < len; i++) buf[i] = alphabet[rand_r(&seed) % (int)(sizeof(alphabet) - 1)];
        byron_graphql_document_t *doc = NULL;
        json_object *errors = NULL;
        byron_status_t st = byron_graphql_parse(buf, len, NULL, &doc, &errors);
        cr_assert(st == BYRON_OK || errors != NULL);
        byron_graphql_document_free(doc);
        json_object_put(errors);
    }
}

/* No limit can be switched off: zero means the hard maximum. 1 MiB of "["
 * with every limit at zero used to overflow the C stack. */
Test(parser, zero_limits_are_the_hard_maxima) {
    byron_graphql_limits_t zero = {0};
    size_t n = 1u << 20;
    char *src = malloc(n + 32);
    memcpy(src, "{ f(a: ", 7);
    memset(src + 7, '[', n);
    memcpy(src + 7 + n, ") }", 4);
    byron_graphql_document_t *doc = NULL;
    json_object *errors = NULL;
    byron_status_t st = byron_graphql_parse(src, strlen(src), &zero, &doc, &errors);
    cr_assert_eq(st, BYRON_ELIMIT);
    cr_assert_null(doc);
    const char *text = json_object_to_json_string(errors);
    cr_assert(strstr(text, "DOCUMENT_TOO_LARGE") || strstr(text, "DEPTH_LIMIT_EXCEEDED"), "%s", text);
    json_object_put(errors);
    /* Under the size cap: the depth cap answers. */
    src[7 + 300] = '\0';
    st = byron_graphql_parse(src, strlen(src), &zero, &doc, &errors);
    cr_assert_eq(st, BYRON_ELIMIT);
    cr_assert(strstr(json_object_to_json_string(errors), "DEPTH_LIMIT_EXCEEDED"), "%s",
              json_object_to_json_string(errors));
    json_object_put(errors);
    free(src);
}
