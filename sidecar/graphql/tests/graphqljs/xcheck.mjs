// xcheck.mjs — compares this engine with graphql-js on the same schema and
// documents: validation verdicts (valid or not) and execution results (data,
// error messages and paths). Run through run.sh.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const [dir, out] = process.argv.slice(2);
const require = createRequire(process.env.GRAPHQL_JS_DIR + '/');
const { buildSchema, parse, validate, graphqlSync } = require('graphql');
const read = f => readFileSync(f, 'utf8');
const lines = f => read(f).trim().split('\n').map(JSON.parse);
const schema = buildSchema(read(`${out}/schema.graphql`));
const root = JSON.parse(read(`${dir}/root.json`));
let diffs = 0, total = 0;

// DateTime is a custom scalar to graphql-js (anything goes); we check RFC 3339.
const known = new Set(['{ echo(when: "yesterday") }']);
const vq = lines(`${dir}/validate_cases.jsonl`), vo = lines(`${out}/validate.jsonl`);
vq.forEach((q, i) => {
  total++;
  let js;
  try { js = validate(schema, parse(q)).map(e => e.message); } catch (e) { js = [e.message]; }
  if ((js.length === 0) !== (vo[i].length === 0) && !known.has(q)) {
    diffs++;
    console.log('validate differs:', q, '\n  graphql-js:', js, '\n  byron:', vo[i].map(e => e.message));
  }
});
const norm = r => JSON.stringify({ data: r.data, errors: (r.errors || []).map(e => [e.message, e.path]) });
const eq = lines(`${dir}/execute_cases.jsonl`), eo = lines(`${out}/execute.jsonl`);
eq.forEach((c, i) => {
  total++;
  const js = JSON.parse(JSON.stringify(graphqlSync({ schema, source: c.q, rootValue: root, variableValues: c.v })));
  if (norm(js) !== norm(eo[i])) {
    diffs++;
    console.log('execute differs:', c.q, '\n  graphql-js:', norm(js), '\n  byron:', norm(eo[i]));
  }
});
console.log(`${total - diffs} passed, ${diffs} failed`);
// Nothing passes empty: every case must have been compared.
if (total === 0 || vo.length !== vq.length || eo.length !== eq.length) {
  console.log(`FAIL: ${total} cases compared (${vq.length}/${vo.length} validate, ${eq.length}/${eo.length} execute)`);
  process.exit(1);
}
process.exit(diffs ? 1 : 0);
