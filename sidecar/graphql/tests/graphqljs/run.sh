#!/bin/sh
# run.sh BUILD_DIR — cross-checks the engine against graphql-js (validation
# verdicts, execution results, introspection → buildClientSchema). Needs node
# and graphql-js: GRAPHQL_JS_DIR is a directory whose node_modules has
# `graphql` (default: the client tests' packages that `scripts/bootstrap test`
# installs). ctest runs it as graphql.graphqljs_xcheck (integration tier).
set -eu
build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
GRAPHQL_JS_DIR=${GRAPHQL_JS_DIR:-${BYRON_CACHE:-$HOME/.cache/byron}/node/current}
[ -d "$GRAPHQL_JS_DIR/node_modules/graphql" ] ||
  { echo "run.sh: no graphql-js in $GRAPHQL_JS_DIR/node_modules: run scripts/bootstrap test" >&2; exit 1; }
export GRAPHQL_JS_DIR
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
x="$build/sidecar/graphql/graphql_xcheck"
"$x" sdl > "$out/schema.graphql"
"$x" validate < "$here/validate_cases.jsonl" > "$out/validate.jsonl"
"$x" execute "$here/root.json" < "$here/execute_cases.jsonl" > "$out/execute.jsonl"
node "$here/xcheck.mjs" "$here" "$out"
BYRON_GQL_INTROSPECTION_OUT="$out/intro.json" \
  "$build/sidecar/sidecar_component_schema_tests" --filter 'component/introspection_dump' >/dev/null
(cd "$GRAPHQL_JS_DIR" && node "$here/../graphqljs_check.mjs" "$out/intro.json")
