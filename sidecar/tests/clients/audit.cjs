// audit.cjs — graphql-http's own server audits against /graphql: every MUST
// must pass; SHOULD and MAY results are reported (a failed SHOULD is listed,
// not fatal).
'use strict';
const { serverAudits } = require('graphql-http');
const { URL } = require('./lib.cjs');

(async () => {
  const audits = serverAudits({ url: URL, fetchFn: fetch });
  const tally = { MUST: [0, 0], SHOULD: [0, 0], MAY: [0, 0] };
  const failedMust = [];
  const notes = [];
  for (const audit of audits) {
    const result = await audit.fn();
    const t = tally[audit.name.split(' ')[0]] || (tally.OTHER = tally.OTHER || [0, 0]);
    if (result.status === 'ok') {
      t[0]++;
    } else {
      t[1]++;
      const line = `${result.status} ${audit.name}: ${result.reason}`;
      if (audit.name.startsWith('MUST')) failedMust.push(line); else notes.push(line);
    }
  }
  for (const [k, [ok, bad]] of Object.entries(tally)) console.log(`  ${k}: ${ok} passed, ${bad} not`);
  for (const n of notes) console.log(`  note: ${n}`);
  for (const f of failedMust) console.log(`  FAIL ${f}`);
  console.log(`audit: ${audits.length} audits, ${failedMust.length} MUST failures`);
  process.exit(failedMust.length ? 1 : 0);
})().catch((e) => { console.log('  FAIL audit threw:', e); process.exit(1); });
