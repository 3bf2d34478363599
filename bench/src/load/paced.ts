/**
 * The paced (fixed-rate, open-loop) load generator: runs `paced-child.js` in its own Node
 * process, pinned with taskset like the other generators, and reads its one-line result.
 * See pacing.ts for the schedule and the arithmetic, and bench/README.md for why the bench
 * paces requests itself instead of using wrk or autocannon's `overallRate`.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExecutable } from '../processes.js';
import type { PacedSummary } from './pacing.js';
import type { LoadSpec } from './types.js';

const CHILD = fileURLToPath(new URL('./paced-child.js', import.meta.url));
const MARK = 'BENCH-RESULT ';

/** One fixed-rate run: the usual load spec plus the rate and a warm-up inside the run. */
export interface PacedSpec extends LoadSpec {
  /** Total requests per second over all connections. */
  readonly rate: number;
  /** Seconds at the same rate before the measured window (connections opened, JIT warm). */
  readonly warmupS: number;
  /** Seconds after which an unanswered request counts as an error. */
  readonly timeoutS: number;
}

let counter = 0;

/** Runs one fixed-rate load and returns its summary (NaN percentiles when nothing was answered). */
export async function runPaced(spec: PacedSpec): Promise<PacedSummary> {
  counter++;
  const specFile = join(spec.workDir, `paced-${counter}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  const taskset = spec.cpus !== null ? findExecutable('taskset') : null;
  const [file, argv] = taskset
    ? [taskset, ['-c', spec.cpus as string, process.execPath, CHILD, specFile]]
    : [process.execPath, [CHILD, specFile]];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      file,
      argv,
      {
        timeout: (spec.warmupS + spec.durationS + spec.timeoutS + 30) * 1000,
        maxBuffer: 1 << 20,
      },
      (error, out, err) =>
        error ? reject(new Error(`paced generator failed: ${err || error.message}`)) : resolve(out),
    );
  });
  const line = stdout.split('\n').find((l) => l.startsWith(MARK));
  if (!line) throw new Error(`paced generator printed no result:\n${stdout}`);
  return parsePacedResult(line.slice(MARK.length));
}

/** Parses the child's JSON result; JSON has no NaN, so a null figure becomes NaN again. */
export function parsePacedResult(json: string): PacedSummary {
  const raw = JSON.parse(json) as Record<keyof PacedSummary, number | null>;
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(raw)) {
    out[key] = typeof value === 'number' ? value : Number.NaN;
  }
  return out as unknown as PacedSummary;
}
