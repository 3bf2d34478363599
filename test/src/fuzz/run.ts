/**
 * The fuzz runner behind `npm run fuzz`: checks every property for a share of a time budget (or a
 * fixed number of runs), prints the runs done per property and per target, and exits non-zero on
 * a counterexample, printing the seed and path that replay it.
 *
 * Usage: node test/dist/fuzz/run.js [--seconds N] [--runs N] [--only TEXT] [--seed S --path P]
 *   --seconds N  total time budget, shared equally by the properties (default 60)
 *   --runs N     exactly N runs per property instead of a time budget
 *   --only TEXT  only properties whose target or rule contains TEXT
 *   --seed S, --path P  replay one counterexample (use with --only)
 */
import { parseArgs } from 'node:util';
import { allProperties } from './all.js';

function readArguments() {
  try {
    return parseArgs({
      options: {
        seconds: { type: 'string' },
        runs: { type: 'string' },
        only: { type: 'string' },
        seed: { type: 'string' },
        path: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`fuzz: ${error instanceof Error ? error.message : String(error)}`);
    console.error('usage: run.js [--seconds N] [--runs N] [--only TEXT] [--seed S --path P]');
    process.exit(2);
  }
}

const values = readArguments();

function positiveNumber(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`fuzz: --${name} must be a positive number`);
    process.exit(2);
  }
  return n;
}

const seconds = positiveNumber(values.seconds, 'seconds') ?? 60;
const runs = positiveNumber(values.runs, 'runs');
const seed = values.seed === undefined ? undefined : Number(values.seed);
const selected = allProperties.filter(
  (p) => values.only === undefined || `${p.target}: ${p.name}`.includes(values.only),
);
if (selected.length === 0) {
  console.error('fuzz: no property matches --only');
  process.exit(2);
}

const budgetMs = (seconds * 1000) / selected.length;
const perTarget = new Map<string, number>();
let failures = 0;
for (const property of selected) {
  const outcome = property.check({
    ...(runs !== undefined
      ? { numRuns: Math.floor(runs) }
      : { numRuns: Number.MAX_SAFE_INTEGER, timeLimitMs: budgetMs }),
    ...(seed !== undefined ? { seed } : {}),
    ...(values.path !== undefined ? { path: values.path } : {}),
  });
  perTarget.set(property.target, (perTarget.get(property.target) ?? 0) + outcome.numRuns);
  const label = `${property.target}: ${property.name}`;
  if (!outcome.failed) {
    console.log(`ok    ${String(outcome.numRuns).padStart(9)} runs  ${label}`);
    continue;
  }
  failures++;
  console.log(`FAIL  ${String(outcome.numRuns).padStart(9)} runs  ${label}`);
  console.log(`      counterexample: ${outcome.counterexample ?? '(none)'}`);
  console.log(`      error: ${outcome.error ?? '(none)'}`);
  console.log(
    `      replay: npm run fuzz -- --only ${JSON.stringify(property.name)} --seed ${outcome.seed}` +
      (outcome.path !== undefined ? ` --path ${JSON.stringify(outcome.path)}` : ''),
  );
}
console.log('');
for (const [target, total] of perTarget) {
  console.log(`${target.padEnd(20)} ${String(total).padStart(10)} runs`);
}
if (failures > 0) {
  console.log(`\n${failures} propert${failures === 1 ? 'y' : 'ies'} failed`);
  process.exit(1);
}
