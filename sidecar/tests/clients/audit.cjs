// audit.cjs — graphql-http's own server audits against /graphql: every MUST
// and every SHOULD must pass (all do today, so a failed SHOULD is a
// regression); MAY results are reported. An audit list without MUSTs or
// SHOULDs fails too: nothing passes empty.
'use strict';
const { serverAudits } = require('graphql-http');
const { URL } = require('./lib.cjs');

(async () => {
  const audits = serverAudits({ url: URL, fetchFn: fetch });
  const tally = { MUST: [0, 0], SHOULD: [0, 0], MAY: [0, 0] };
  const failed = [];
  const notes = [];
  for (const audit of audits) {
    const result = await audit.fn();
    const t = tally[audit.name.split(' ')[0]] || (tally.OTHER = tally.OTHER || [0, 0]);
    if (result.status === 'ok') {
      t[0]++;
    } else {
      t[1]++;
      const line = `${result.status} ${audit.name}: ${result.reason}`;
      if (audit.name.startsWith('MUST') || audit.name.startsWith('SHOULD')) failed.push(line);
      else notes.push(line);
    }
  }
  for (const [k, [ok, bad]] of Object.entries(tally)) console.log(`  ${k}: ${ok} passed, ${bad} not`);
  for (const n of notes) console.log(`  note: ${n}`);
  for (const f of failed) console.log(`  FAIL ${f}`);
  const empty = tally.MUST[0] + tally.MUST[1] === 0 || tally.SHOULD[0] + tally.SHOULD[1] === 0;
  if (empty) console.log('  FAIL graphql-http returned no MUST or no SHOULD audit');
  console.log(`audit: ${audits.length} audits, ${failed.length} MUST/SHOULD failures`);
  process.exit(failed.length || empty ? 1 : 0);
})().catch((e) => { console.log('  FAIL audit threw:', e); process.exit(1); });
