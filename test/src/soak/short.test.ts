// A short soak in `npm test`: the gateway CLI under 200 concurrent connections for 10 s with the
// mix of valid, invalid, expired and token-less requests; the same invariants as `npm run soak`
// (no failed valid request, no accepted invalid one, one audit record per answer). No timing is
// asserted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSoakReport, runSoak, soakViolations } from './soak.js';

test(
  'under 200 concurrent connections for 10 s, no valid request fails, no invalid one is accepted, and every answer has exactly one audit record',
  { timeout: 120_000 },
  async (t) => {
    const report = await runSoak({ seconds: 10, connections: 200 });
    for (const line of formatSoakReport(report).split('\n')) t.diagnostic(line);
    assert.ok(report.requests > 0);
    assert.deepEqual(soakViolations(report), []);
    assert.equal(report.validErrors, 0);
    assert.equal(report.acceptedInvalid, 0);
    assert.equal(report.auditRecords, report.answered);
  },
);
