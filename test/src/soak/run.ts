/**
 * `npm run soak`: the gateway under N concurrent connections for a fixed time (default 1 000
 * connections for 60 s, loopback only; stops by itself), then the report and its invariants.
 *
 * Usage: node test/dist/soak/run.js [--seconds N] [--connections N]
 */
import { parseArgs } from 'node:util';
import { formatSoakReport, runSoak, soakViolations } from './soak.js';

function readArguments(): { seconds: number; connections: number } {
  try {
    const { values } = parseArgs({
      options: { seconds: { type: 'string' }, connections: { type: 'string' } },
      strict: true,
    });
    const seconds = Number(values.seconds ?? 60);
    const connections = Number(values.connections ?? 1000);
    if (!(seconds > 0 && seconds <= 3600)) throw new Error('--seconds must be in (0, 3600]');
    if (!(Number.isInteger(connections) && connections > 0 && connections <= 10_000))
      throw new Error('--connections must be an integer in [1, 10000]');
    return { seconds, connections };
  } catch (error) {
    console.error(`soak: ${error instanceof Error ? error.message : String(error)}`);
    console.error('usage: run.js [--seconds N] [--connections N]');
    process.exit(2);
  }
}

const report = await runSoak({ ...readArguments(), log: (line) => console.log(line) });
console.log(formatSoakReport(report));
const broken = soakViolations(report);
if (broken.length > 0) {
  console.error(`soak: FAILED\n  ${broken.join('\n  ')}`);
  process.exit(1);
}
console.log('soak: every invariant holds');
