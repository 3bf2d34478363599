/**
 * Micro-benchmarks of the packages, reachable from the same `npm run bench`: runs
 * `npm run bench -w @mcp-iam/core` and `-w @mcp-iam/audit` as child processes when those
 * scripts exist (checked in their package.json at run time), with a time limit.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Workspaces whose `bench` script is run, and where their package.json is. */
export const MICRO_WORKSPACES = [
  { name: '@mcp-iam/core', dir: 'packages/core' },
  { name: '@mcp-iam/audit', dir: 'packages/audit' },
] as const;

/** Outcome of one workspace's micro-benchmarks. */
export interface MicroBenchResult {
  readonly workspace: string;
  readonly status: 'ran' | 'skipped' | 'failed';
  /** Why skipped or failed. */
  readonly note?: string;
  /** Combined stdout and stderr (trimmed to the last 20 000 characters). */
  readonly output?: string;
}

/** Whether the package.json in `dir` defines a `bench` script. */
export function hasBenchScript(dir: string): boolean {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return false;
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { scripts?: Record<string, unknown> };
  return typeof pkg.scripts?.bench === 'string';
}

/** Runs each workspace's micro-benchmarks in turn (each bounded by `timeoutMs`). */
export async function runMicroBenchmarks(
  repoRoot: string,
  timeoutMs: number,
  log: (message: string) => void,
): Promise<MicroBenchResult[]> {
  const results: MicroBenchResult[] = [];
  for (const { name, dir } of MICRO_WORKSPACES) {
    if (!hasBenchScript(join(repoRoot, dir))) {
      results.push({
        workspace: name,
        status: 'skipped',
        note: `${dir}/package.json has no "bench" script yet`,
      });
      continue;
    }
    log(`micro-benchmarks: npm run bench -w ${name}`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = await new Promise<MicroBenchResult>((resolve) => {
      execFile(
        npm,
        ['run', 'bench', '--silent', '-w', name],
        { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 16 << 20 },
        (error, stdout, stderr) => {
          const output = `${stdout}${stderr ? `\n${stderr}` : ''}`.trim().slice(-20_000);
          resolve(
            error
              ? { workspace: name, status: 'failed', note: error.message.split('\n')[0], output }
              : { workspace: name, status: 'ran', output },
          );
        },
      );
    });
    results.push(result);
  }
  return results;
}
