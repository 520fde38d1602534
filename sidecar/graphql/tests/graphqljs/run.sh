#!/bin/sh
# run.sh BUILD_DIR — cross-checks the engine against graphql-js (validation
# verdicts, execution results, introspection → buildClientSchema). Needs node
# and graphql-js: GRAPHQL_JS_DIR is a directory whose node_modules has
# `graphql` (npm install graphql@16 there). Not part of ctest.
set -eu
build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
: "${GRAPHQL_JS_DIR:?set GRAPHQL_JS_DIR to a directory with node_modules/graphql}"
export GRAPHQL_JS_DIR
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
x="$build/sidecar/graphql/graphql_xcheck"
"$x" sdl > "$out/schema.graphql"
"$x" validate < "$here/validate_cases.jsonl" > "$out/validate.jsonl"
"$x" execute "$here/root.json" < "$here/execute_cases.jsonl" > "$out/execute.jsonl"
node "$here/xcheck.mjs" "$here" "$out"
BYRON_GQL_INTROSPECTION_OUT="$out/intro.json" \
  "$build/sidecar/graphql/graphql_introspection_test" --filter 'introspection/component_schema_dump' >/dev/null
(cd "$GRAPHQL_JS_DIR" && node "$here/../graphqljs_check.mjs" "$out/intro.json")
