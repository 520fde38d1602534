/*
 * introspection_query.h — the full introspection query clients send
 * (graphql-js getIntrospectionQuery() with descriptions, specifiedByURL,
 * isRepeatable, schema description and input value deprecation).
 */
#ifndef BYRON_GRAPHQL_TEST_INTROSPECTION_QUERY_H
#define BYRON_GRAPHQL_TEST_INTROSPECTION_QUERY_H

#define FX_INTROSPECTION_QUERY                                                                               \
    "query IntrospectionQuery {\n"                                                                           \
    "  __schema {\n"                                                                                         \
    "    description\n"                                                                                      \
    "    queryType { name }\n"                                                                               \
    "    mutationType { name }\n"                                                                            \
    "    subscriptionType { name }\n"                                                                        \
    "    types { ...FullType }\n"                                                                            \
    "    directives {\n"                                                                                     \
    "      name description isRepeatable locations\n"                                                        \
    "      args(includeDeprecated: true) { ...InputValue }\n"                                                \
    "    }\n"                                                                                                \
    "  }\n"                                                                                                  \
    "}\n"                                                                                                    \
    "fragment FullType on __Type {\n"                                                                        \
    "  kind name description specifiedByURL\n"                                                               \
    "  fields(includeDeprecated: true) {\n"                                                                  \
    "    name description\n"                                                                                 \
    "    args(includeDeprecated: true) { ...InputValue }\n"                                                  \
    "    type { ...TypeRef }\n"                                                                              \
    "    isDeprecated deprecationReason\n"                                                                   \
    "  }\n"                                                                                                  \
    "  inputFields(includeDeprecated: true) { ...InputValue }\n"                                             \
    "  interfaces { ...TypeRef }\n"                                                                          \
    "  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }\n"            \
    "  possibleTypes { ...TypeRef }\n"                                                                       \
    "}\n"                                                                                                    \
    "fragment InputValue on __InputValue {\n"                                                                \
    "  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason\n"                   \
    "}\n"                                                                                                    \
    "fragment TypeRef on __Type {\n"                                                                         \
    "  kind name\n"                                                                                          \
    "  ofType { kind name ofType { kind name ofType { kind name ofType { kind name\n"                        \
    "    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }\n"            \
    "  } } }\n"                                                                                              \
    "}\n"

#endif
