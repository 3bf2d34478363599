/**
 * Summarizes a `.cpuprofile` written by `node --cpu-prof` (e.g. by `npm run bench -- --cpu-prof
 * DIR`): the functions with the most self time and the most inclusive time, as shares of all
 * samples (wall time of the profiled thread, idle included). Usage:
 *   node bench/dist/profile-summary.js FILE.cpuprofile [--top N]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The parts of the V8 CPU profile format (Chrome DevTools protocol `Profiler.Profile`) used here. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      /** 0-based. */
      readonly lineNumber: number;
    };
    readonly children?: readonly number[];
  }[];
  /** Node id of the top frame at each sample. */
  readonly samples: readonly number[];
  /** µs before each sample (the first relative to startTime). */
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** One function's share of the samples. */
export interface FunctionShare {
  /** `name file:line`, or V8's `(idle)`, `(garbage collector)`, `(program)`. */
  readonly key: string;
  /** Samples with this function on top of the stack / anywhere on the stack (counted once). */
  readonly selfSamples: number;
  readonly totalSamples: number;
}

/** Summary of one profile. */
export interface ProfileSummary {
  readonly samples: number;
  /** Profiled wall time, ms. */
  readonly durationMs: number;
  /** Every function, by self samples (descending). */
  readonly functions: readonly FunctionShare[];
}

/** Where a function lives, shortened to `node_modules/<pkg>/…`, `packages/…` or `bench/…`. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + 1);
  // The last `/packages/`, `/bench/` or `/examples/` of the path: the repository's own code.
  const matches = [...path.matchAll(/\/(?=(?:packages|bench|examples)\/)/g)];
  const last = matches.at(-1);
  return last?.index !== undefined ? path.slice(last.index + 1) : path;
}

function frameKey(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  return `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

/** Self and inclusive samples per function (a recursive function counts once per sample). */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const parent = new Map<number, number>();
  const keyOf = new Map<number, string>();
  for (const node of profile.nodes) {
    keyOf.set(node.id, frameKey(node.callFrame));
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  // The set of functions on the stack of each node, computed once per node.
  const stackKeys = new Map<number, readonly string[]>();
  const keysOnStack = (id: number): readonly string[] => {
    const cached = stackKeys.get(id);
    if (cached) return cached;
    const keys = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = keyOf.get(at) as string;
      if (key !== '(root)') keys.add(key);
    }
    const list = [...keys];
    stackKeys.set(id, list);
    return list;
  };
  for (const id of profile.samples) {
    const key = keyOf.get(id) ?? '(unknown)';
    self.set(key, (self.get(key) ?? 0) + 1);
    for (const k of keysOnStack(id)) total.set(k, (total.get(k) ?? 0) + 1);
  }
  const functions = [...total.keys()]
    .map((key) => ({ key, selfSamples: self.get(key) ?? 0, totalSamples: total.get(key) ?? 0 }))
    .sort((a, b) => b.selfSamples - a.selfSamples || a.key.localeCompare(b.key));
  return {
    samples: profile.samples.length,
    durationMs: (profile.endTime - profile.startTime) / 1000,
    functions,
  };
}

/** The summary as text: the top `top` functions by self and by inclusive share. */
export function formatProfileSummary(summary: ProfileSummary, top: number): string {
  const pct = (n: number): string =>
    `${((100 * n) / Math.max(1, summary.samples)).toFixed(1).padStart(5)} %`;
  const out = [
    `${summary.samples} samples over ${(summary.durationMs / 1000).toFixed(1)} s (shares of wall time of the main thread, idle included)`,
    '',
    'self     function (top of the stack)',
  ];
  for (const f of summary.functions.slice(0, top)) out.push(`${pct(f.selfSamples)}  ${f.key}`);
  out.push('', 'total    function (anywhere on the stack)');
  const byTotal = [...summary.functions].sort(
    (a, b) => b.totalSamples - a.totalSamples || a.key.localeCompare(b.key),
  );
  for (const f of byTotal.slice(0, top)) out.push(`${pct(f.totalSamples)}  ${f.key}`);
  return `${out.join('\n')}\n`;
}

function main(argv: readonly string[]): number {
  const file = argv.find((a) => !a.startsWith('--'));
  const topIndex = argv.indexOf('--top');
  const top = topIndex >= 0 ? Number(argv[topIndex + 1]) : 25;
  if (!file || !Number.isInteger(top) || top < 1) {
    process.stderr.write('usage: node bench/dist/profile-summary.js FILE.cpuprofile [--top N]\n');
    return 2;
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(formatProfileSummary(summarizeProfile(profile), top));
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = main(process.argv.slice(2));
}
