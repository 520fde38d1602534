/*
 * test_validate.c — one positive and one negative case per validation rule
 * (spec 5), plus the static limits.
 */
#include "fixtures.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static byron_graphql_schema_t *S;

static void setup(void) {
    S = fx_schema();
    cr_assert_not_null(S);
}

static void teardown(void) { byron_graphql_schema_free(S); }

TestSuite(validate, .init = setup, .fini = teardown);

static void valid(const char *q) {
    json_object *e = fx_validate(S, q);
    cr_assert_null(e, "expected valid: %s\nerrors: %s", q, e ? json_object_to_json_string(e) : "");
}

static void invalid(const char *q, const char *msg) {
    json_object *e = fx_validate(S, q);
    cr_assert_not_null(e, "expected invalid: %s", q);
    cr_assert(fx_has_error(e, msg), "expected error containing '%s' for %s\ngot: %s", msg, q,
              json_object_to_json_string(e));
    /* Every validation error carries a location and a code. */
    json_object *first = json_object_array_get_idx(e, 0), *ext = NULL;
    cr_assert(json_object_object_get_ex(first, "extensions", &ext));
    json_object_put(e);
}

Test(validate, operation_name_uniqueness) {
    valid("query A { hello } query B { hello }");
    invalid("query A { hello } query A { hello }", "only one operation named \"A\"");
}

Test(validate, lone_anonymous_operation) {
    valid("{ hello }");
    invalid("{ hello } query B { hello }", "anonymous operation must be the only");
}

Test(validate, subscription_single_root_field) {
    valid("subscription { dogAdded { name } }");
    invalid("subscription S { dogAdded { name } tick }", "must select only one top level field");
    invalid("subscription { ...F } fragment F on Subscription { dogAdded { name } tick }",
            "only one top level field");
    invalid("subscription { __typename }", "introspection top level field");
}

Test(validate, fields_on_correct_type) {
    valid("{ dog(id: 1) { name nickname __typename } }");
    invalid("{ dog(id: 1) { meow } }", "Cannot query field \"meow\" on type \"Dog\"");
    invalid("{ nope }", "Cannot query field \"nope\" on type \"Query\"");
    invalid("mutation { hello }", "Cannot query field \"hello\" on type \"Mutation\"");
}

Test(validate, leaf_field_selections) {
    valid("{ dogs { name } }");
    invalid("{ hello { x } }", "must not have a selection since type \"String!\"");
    invalid("{ dogs }", "must have a selection of subfields");
}

Test(validate, arguments) {
    valid("{ hello(name: \"x\") required(n: 1) }");
    invalid("{ hello(nom: \"x\") }", "Unknown argument \"nom\" on field \"Query.hello\"");
    invalid("{ hello(name: \"a\", name: \"b\") }", "only one argument named \"name\"");
    invalid("{ required }", "argument \"n\" of type \"Int!\" is required");
    invalid("{ required(n: null) }", "Expected value of type \"Int!\", found null");
}

Test(validate, fragments) {
    valid("{ dogs { ...F } } fragment F on Dog { name }");
    invalid("{ dogs { ...F } } fragment F on Dog { name } fragment F on Dog { id }",
            "only one fragment named \"F\"");
    invalid("{ dogs { ...G } }", "Unknown fragment \"G\"");
    invalid("{ dogs { ...F } } fragment F on Cat { name }", "Unknown type \"Cat\"");
    invalid("{ dogs { ...F } } fragment F on Color { name }", "non composite type \"Color\"");
    invalid("{ dogs { ... on Int { x } } }", "non composite type \"Int\"");
    invalid("{ dogs { name } } fragment F on Dog { name }", "Fragment \"F\" is never used");
    invalid("{ dogs { ...A } } fragment A on Dog { ...B } fragment B on Dog { ...A }",
            "Cannot spread fragment \"A\" within itself via \"B\".");
    invalid("{ dogs { ...A } } fragment A on Dog { name ...A }", "within itself");
}

Test(validate, fragment_spreads_possible) {
    valid("{ dogs { ... on Dog { name } } }");
    invalid("{ dogs { ...H } } fragment H on Human { name }",
            "cannot be spread here as objects of type \"Dog\" can never be of type \"Human\"");
    invalid("{ dogs { ... on Human { name } } }", "can never be of type \"Human\"");
}

Test(validate, variables) {
    valid("query Q($id: ID!) { dog(id: $id) { name } }");
    valid("query Q($n: Int = 3) { required(n: $n) }");
    valid("query Q($c: Color) { dogs(color: $c) { name } }");
    valid("query Q($n: Int!) { echo(list: [$n, 2]) }");
    valid("query Q($x: Int!) { echo(point: {x: $x}) }");
    valid("query Q($p: PointInput) { echo(point: $p) }");
    valid("query Q($n: Int!) { echo(n: $n) }");
    invalid("query Q($a: Int, $a: Int) { echo(n: $a) }", "only one variable named \"$a\"");
    invalid("query Q($a: Dog) { hello }", "cannot be non-input type \"Dog\"");
    invalid("query Q($a: Nope) { hello }", "Unknown type \"Nope\"");
    invalid("query Q { echo(n: $x) }", "Variable \"$x\" is not defined by operation \"Q\"");
    invalid("{ dogs { ...F } } fragment F on Dog { barks(loud: $l) }", "Variable \"$l\" is not defined");
    invalid("query Q($a: Int) { hello }", "Variable \"$a\" is never used in operation \"Q\"");
    invalid("query Q($a: Int) { required(n: $a) }",
            "Variable \"$a\" of type \"Int\" used in position expecting type \"Int!\"");
    invalid("query Q($a: String) { echo(n: $a) }", "used in position expecting type \"Int\"");
    invalid("query Q($a: [Int]) { echo(n: $a) }", "used in position expecting");
    invalid("query Q($a: Int = \"x\") { echo(n: $a) }", "Int cannot represent");
    invalid("query Q($x: Int) { echo(point: {x: $x}) }", "expecting type \"Int!\"");
}

Test(validate, directives) {
    valid("{ hello @include(if: true) dogs @skip(if: false) { name } }");
    valid("query Q($b: Boolean!) { hello @include(if: $b) }");
    invalid("{ hello @nope }", "Unknown directive \"@nope\"");
    invalid("{ hello @include(if: true) @include(if: false) }", "can only be used once");
    invalid("query @include(if: true) { hello }", "may not be used on QUERY");
    invalid("{ hello @deprecated }", "may not be used on FIELD");
    invalid("{ hello @include }", "Directive \"@include\" argument \"if\"");
    invalid("{ hello @skip(if: 1) }", "Boolean cannot represent");
}

Test(validate, values_of_correct_type) {
    valid("{ echo(n: 1, f: 1, b: true, s: \"x\", id: 7, list: [1, null], color: RED, "
          "point: {x: 1, tags: \"one\"}, when: \"2024-01-01T00:00:00Z\") }");
    valid("{ echo(list: 3) }");
    invalid("{ echo(n: \"1\") }", "Int cannot represent non-integer value");
    invalid("{ echo(n: 1.5) }", "Int cannot represent");
    invalid("{ echo(n: 3000000000) }", "non 32-bit");
    invalid("{ echo(f: \"x\") }", "Float cannot represent");
    invalid("{ echo(b: 0) }", "Boolean cannot represent");
    invalid("{ echo(s: 1) }", "String cannot represent");
    invalid("{ echo(id: 1.5) }", "ID cannot represent");
    invalid("{ echo(color: PURPLE) }", "does not exist in \"Color\" enum");
    invalid("{ echo(color: \"RED\") }", "Enum \"Color\" cannot represent non-enum value");
    invalid("{ echo(point: {y: 1}) }", "Field \"PointInput.x\" of required type \"Int!\"");
    invalid("{ echo(point: {x: 1, z: 1}) }", "Field \"z\" is not defined by type \"PointInput\"");
    invalid("{ echo(point: {x: 1, x: 2}) }", "only one input field named \"x\"");
    invalid("{ echo(point: 1) }", "Expected value of type \"PointInput\"");
    invalid("{ echo(list: [\"a\"]) }", "Int cannot represent");
    invalid("{ echo(when: \"yesterday\") }", "DateTime cannot represent");
}

Test(validate, overlapping_fields) {
    valid("{ hello hello }");
    valid("{ a: hello(name: \"x\") a: hello(name: \"x\") }");
    valid("{ dogs { name } dogs { id } }");
    invalid("{ a: hello b: hello a: dogs { name } }", "\"hello\" and \"dogs\" are different fields");
    invalid("{ hello(name: \"x\") hello(name: \"y\") }", "differing arguments");
    invalid("{ hello(name: \"x\") hello }", "differing arguments");
    invalid("{ dogs { x: name x: id } }", "different fields");
    invalid("{ dogs { ...F x: name } } fragment F on Dog { x: nickname }", "different fields");
    invalid("{ dogs { owner { name } } dogs { owner { name: dogs { id } } } }", "conflict");
    invalid("{ dogs { f: id } dogs { f: mustName } }", "different fields");
}

Test(validate, executable_definitions) { invalid("{ hello } type T { a: Int }", "not executable"); }

Test(validate, schema_without_mutation_root) {
    byron_graphql_schema_t *s = byron_graphql_schema_new();
    byron_graphql_type_t *q = byron_graphql_schema_add_type(s, BYRON_GRAPHQL_OBJECT, "Query", NULL);
    byron_graphql_type_add_field(q, "a", "Int", NULL);
    byron_graphql_schema_set_roots(s, "Query", NULL, NULL);
    byron_err_t err;
    cr_assert_eq(byron_graphql_schema_finalize(s, &err), BYRON_OK, "%s", err.msg);
    json_object *e = fx_validate(s, "mutation { a }");
    cr_assert(fx_has_error(e, "not configured to execute mutation"));
    json_object_put(e);
    byron_graphql_schema_free(s);
}

Test(validate, limits) {
    byron_graphql_limits_t lim;
    byron_graphql_limits_init(&lim);
    lim.max_fields = 5;
    byron_graphql_document_t *doc = NULL;
    json_object *errors = NULL;
    const char *q = "{ dogs { ...F } } fragment F on Dog { id name nickname color barks }";
    cr_assert_eq(byron_graphql_parse(q, strlen(q), NULL, &doc, &errors), BYRON_OK);
    cr_assert_eq(byron_graphql_validate(S, doc, &lim, &errors), BYRON_ELIMIT);
    cr_assert(fx_has_error(errors, "more than 5 fields"));
    json_object_put(errors);
    byron_graphql_document_free(doc);

    /* A long chain of fragments cannot hide fields from the count. */
    char chain[8192];
    size_t n = (size_t)snprintf(chain, sizeof(chain), "{ dogs { ...F0 } }");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(chain + n, sizeof(chain) - n, " fragment F%d on Dog { ...F%d }", i, i + 1);
    snprintf(chain + n, sizeof(chain) - n, " fragment F100 on Dog { id name nickname color barks }");
    cr_assert_eq(byron_graphql_parse(chain, strlen(chain), NULL, &doc, &errors), BYRON_OK);
    cr_assert_eq(byron_graphql_validate(S, doc, &lim, &errors), BYRON_ELIMIT);
    json_object_put(errors);
    byron_graphql_document_free(doc);

    byron_graphql_limits_init(&lim);
    lim.max_depth = 3;
    q = "{ dogs { friends { friends { name } } } }";
    cr_assert_eq(byron_graphql_parse(q, strlen(q), NULL, &doc, &errors), BYRON_OK);
    cr_assert_eq(byron_graphql_validate(S, doc, &lim, &errors), BYRON_ELIMIT);
    cr_assert(fx_has_error(errors, "nested deeper than 3"));
    json_object_put(errors);
    byron_graphql_document_free(doc);

    byron_graphql_limits_init(&lim);
    lim.max_aliases = 1;
    q = "{ a: hello b: hello(name: \"b\") }";
    cr_assert_eq(byron_graphql_parse(q, strlen(q), NULL, &doc, &errors), BYRON_OK);
    cr_assert_eq(byron_graphql_validate(S, doc, &lim, &errors), BYRON_ELIMIT);
    cr_assert(fx_has_error(errors, "aliases"));
    json_object_put(errors);
    byron_graphql_document_free(doc);
}

Test(validate, fragment_bomb_is_bounded) {
    /* Each fragment spreads the next twice: 2^20 fields if expanded. */
    char q[4096];
    size_t n = (size_t)snprintf(q, sizeof(q), "{ dogs { ...F0 } }");
    for (int i = 0; i < 20; i++)
        n +=
            (size_t)snprintf(q + n, sizeof(q) - n, " fragment F%d on Dog { ...F%d ...F%d }", i, i + 1, i + 1);
    snprintf(q + n, sizeof(q) - n, " fragment F20 on Dog { name }");
    json_object *e = fx_validate(S, q);
    cr_assert(fx_has_error(e, "fields"), "%s", e ? json_object_to_json_string(e) : "valid?");
    json_object_put(e);
    /* The same bomb at a subscription's root (checked before the limits). */
    n = (size_t)snprintf(q, sizeof(q), "subscription { ...F0 }");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(q + n, sizeof(q) - n, " fragment F%d on Subscription { ...F%d ...F%d }", i,
                              i + 1, i + 1);
    snprintf(q + n, sizeof(q) - n, " fragment F20 on Subscription { tick }");
    e = fx_validate(S, q);
    cr_assert(fx_has_error(e, "fields"), "%s", e ? json_object_to_json_string(e) : "valid?");
    json_object_put(e);
}
