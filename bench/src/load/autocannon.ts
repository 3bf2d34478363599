/**
 * Load generator backed by autocannon 8, run in a child Node process pinned with taskset.
 * Used when wrk is not installed.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExecutable } from '../processes.js';
import type { LoadGenerator, LoadResult, LoadSpec } from './types.js';

const CHILD = fileURLToPath(new URL('./autocannon-child.js', import.meta.url));
const MARK = 'BENCH-RESULT ';

/** The autocannon generator (always available: autocannon is a dependency of the bench). */
export function autocannonGenerator(): LoadGenerator {
  let counter = 0;
  return {
    name: 'autocannon 8',
    async run(spec: LoadSpec): Promise<LoadResult> {
      counter++;
      const specFile = join(spec.workDir, `autocannon-${counter}.json`);
      writeFileSync(specFile, JSON.stringify(spec));
      const taskset = spec.cpus !== null ? findExecutable('taskset') : null;
      const [file, argv] = taskset
        ? [taskset, ['-c', spec.cpus as string, process.execPath, CHILD, specFile]]
        : [process.execPath, [CHILD, specFile]];
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(
          file,
          argv,
          { timeout: (spec.durationS + 30) * 1000, maxBuffer: 1 << 20 },
          (error, out, err) =>
            error ? reject(new Error(`autocannon failed: ${err || error.message}`)) : resolve(out),
        );
      });
      const line = stdout.split('\n').find((l) => l.startsWith(MARK));
      if (!line) throw new Error(`autocannon printed no result:\n${stdout}`);
      const r = JSON.parse(line.slice(MARK.length)) as {
        requests: number;
        duration_s: number;
        errors: number;
        p50_ms: number;
        p99_ms: number;
      };
      return {
        requests: r.requests,
        errors: r.errors,
        durationS: r.duration_s,
        requestsPerSecond: r.requests / r.duration_s,
        p50Ms: r.p50_ms,
        p99Ms: r.p99_ms,
      };
    },
  };
}
