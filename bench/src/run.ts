/**
 * `npm run bench`: starts the fixture issuer, the fixed-answer upstream and every available row
 * on loopback, checks each row against the bad-token set, loads the rows in interleaved rounds,
 * and writes bench/results/latest.md and latest.json. Installs nothing; stops every process it
 * started, also on error and Ctrl-C.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { availableParallelism, cpus, release, tmpdir, type } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCorrectness } from './correctness.js';
import { startFixtureIssuer, type FixtureIssuer } from './fixtures/issuer.js';
import { autocannonGenerator } from './load/autocannon.js';
import { runPaced } from './load/paced.js';
import { plannedRequests } from './load/pacing.js';
import type { LoadGenerator } from './load/types.js';
import { wrkGenerator } from './load/wrk.js';
import {
  MCP_PATH,
  MCP_REQUEST_HEADERS,
  REQUIRED_SCOPE,
  TOOL_NAME,
  TOOLS_CALL_BODY,
  VALID_TOKEN_SCOPE,
} from './mcp.js';
import { runMicroBenchmarks } from './micro.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import {
  clockTicksPerSecond,
  cpuTicks,
  findExecutable,
  freePort,
  killAllProcessesNow,
  spawnManaged,
  stopAllProcesses,
  waitForPort,
  withDescendants,
} from './processes.js';
import { rateSummaryLine, renderMarkdown, summaryLine } from './report.js';
import {
  fixedRateMediansOf,
  mediansOf,
  type BenchResults,
  type FixedRateResult,
  type FixedRateRound,
  type RoundResult,
  type RowResult,
} from './results.js';
import { SERVERS_MAIN } from './rows/node-servers.js';
import { selectRows } from './rows/registry.js';
import type { BenchContext, BenchRow, RunningRow } from './rows/types.js';

/** The audience every valid token carries (the rows' shared resource identifier). */
export const BENCH_AUDIENCE = 'https://mcp.bench.invalid/mcp';

const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RESULTS_DIR = join(BENCH_DIR, 'results');
const MICRO_TIMEOUT_MS = 240_000;
const WARMUP_S = 1;
/** Seconds at the fixed rate before each measured fixed-rate window (not counted). */
const RATE_WARMUP_S = 1;
/** Seconds after which an unanswered request of a fixed-rate run counts as an error. */
const RATE_TIMEOUT_S = 10;
/** Grace between SIGTERM and SIGKILL for a profiled process: it writes its profile on exit. */
const PROFILED_STOP_GRACE_MS = 30_000;

/** The temp dir to remove if the run is interrupted (null once handled or when kept). */
let tempToRemoveOnSignal: string | null = null;

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** CPU placement: server under test alone on cpu 0 when there are at least two CPUs. */
interface Placement {
  readonly server: string | null;
  readonly upstream: string | null;
  readonly generator: string | null;
  readonly description: string;
}

function placement(): Placement {
  const n = availableParallelism();
  if (!findExecutable('taskset')) {
    return {
      server: null,
      upstream: null,
      generator: null,
      description: 'none (taskset not found)',
    };
  }
  if (n >= 3) {
    return {
      server: '0',
      upstream: '1',
      generator: '2',
      description: 'server under test: cpu 0; fixed-answer upstream: cpu 1; load generator: cpu 2',
    };
  }
  if (n === 2) {
    return {
      server: '0',
      upstream: '1',
      generator: '1',
      description:
        'server under test (the proxy and its workers, or the direct upstream): cpu 0; load generator and shared fixed-answer upstream: cpu 1',
    };
  }
  return { server: null, upstream: null, generator: null, description: 'none (one CPU)' };
}

function chooseGenerator(options: BenchOptions): LoadGenerator {
  if (options.loadgen === 'autocannon') return autocannonGenerator();
  const wrk = wrkGenerator();
  if (wrk) return wrk;
  if (options.loadgen === 'wrk') throw new Error('wrk is not installed: apt-get install -y wrk');
  log('wrk not found (apt-get install -y wrk); using autocannon');
  return autocannonGenerator();
}

interface Started {
  readonly row: BenchRow;
  readonly result: RowResult;
  readonly running: RunningRow;
  readonly ctx: BenchContext;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  let rows: BenchRow[];
  try {
    options = parseOptions(process.argv.slice(2));
    rows = selectRows(options.rows);
    if (options.rateRows) selectRows(options.rateRows); // unknown ids are an error
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const place = placement();
  const generator = chooseGenerator(options);
  const tempRoot = mkdtempSync(join(tmpdir(), 'mcp-iam-bench-'));
  // Apache drops privileges to www-data when started as root; its workers must reach this dir.
  chmodSync(tempRoot, 0o755);
  let keepTemp = options.keepTemp;
  tempToRemoveOnSignal = keepTemp ? null : tempRoot;
  let issuer: FixtureIssuer | null = null;
  const started: Started[] = [];
  log(`temp dir ${tempRoot}; load generator ${generator.name}; pinning: ${place.description}`);
  const cpuProfDir = options.cpuProfDir === null ? null : resolve(options.cpuProfDir);
  if (cpuProfDir) log(`CPU profiles of the Node server rows go to ${cpuProfDir}/<row>`);

  try {
    issuer = await startFixtureIssuer({ audience: BENCH_AUDIENCE, scope: VALID_TOKEN_SCOPE });
    log(`fixture issuer ${issuer.url}`);
    const upstreamLog = join(tempRoot, 'fixed-upstream.log');
    const upstream = await spawnManaged(process.execPath, [SERVERS_MAIN, 'fixed-upstream'], {
      logPath: upstreamLog,
      cpus: place.upstream,
      readPort: true,
    });
    const upstreamUrl = `http://127.0.0.1:${upstream.port}${MCP_PATH}`;
    log(`fixed-answer upstream ${upstreamUrl}`);

    const results: RowResult[] = rows.map((row) => ({
      id: row.id,
      title: row.title,
      description: row.description,
      status: 'skipped',
      correctness: [],
      rounds: [],
    }));

    // Start every available row; each keeps running through all rounds.
    for (const [index, row] of rows.entries()) {
      const result = results[index] as RowResult;
      const dir = join(tempRoot, row.id);
      mkdirSync(dir, { mode: 0o755 });
      let nodeArgs: string[] = [];
      if (cpuProfDir) {
        const profDir = join(cpuProfDir, row.id);
        mkdirSync(profDir, { recursive: true });
        nodeArgs = ['--cpu-prof', '--cpu-prof-dir', profDir];
      }
      const ctx = makeContext(issuer, upstreamUrl, dir, place.server, nodeArgs);
      const availability = await row.availability(ctx);
      if (!availability.available) {
        result.reason = availability.reason;
        if (availability.install) result.install = availability.install;
        log(
          `${row.id}: skipped — ${availability.reason}${availability.install ? ` (install: ${availability.install})` : ''}`,
        );
        continue;
      }
      try {
        const running = await row.start(ctx);
        result.url = running.url;
        result.correctness = await checkCorrectness(running.url, (kind) => row.token(kind, ctx));
        if (result.correctness.some((c) => c.kind === 'valid' && c.verdict === 'error')) {
          throw new Error('no answer to a request with the valid token');
        }
        if (result.correctness.some((c) => c.verdict === 'wrongly-rejected')) {
          // Loading a row that rejects every request would measure its error path, not a proxy.
          await running.stop();
          throw new Error(`it rejects the valid token (see the logs in ${dir})`);
        }
        result.status = 'measured';
        started.push({ row, result, running, ctx });
        log(`${row.id}: started at ${running.url}`);
      } catch (error) {
        result.status = 'failed';
        result.reason = error instanceof Error ? error.message : String(error);
        keepTemp = true;
        log(`${row.id}: failed — ${result.reason}`);
      }
    }

    // Warm-up (not counted); its rate sizes the token pool of rows that use one per request.
    const warmRate = new Map<string, number>();
    for (const s of started) {
      try {
        const warm = await loadOnce(
          s,
          generator,
          options,
          place,
          WARMUP_S,
          20_000,
          upstream.process.pid,
        );
        warmRate.set(s.row.id, warm.requestsPerSecond);
      } catch (error) {
        s.result.status = 'failed';
        s.result.reason = `warm-up: ${error instanceof Error ? error.message : String(error)}`;
        keepTemp = true;
        log(`${s.row.id}: failed in warm-up — ${s.result.reason}`);
      }
    }

    for (let round = 1; round <= options.rounds; round++) {
      for (const s of started) {
        if (s.result.status !== 'measured') continue;
        try {
          const rate = Math.max(1000, warmRate.get(s.row.id) ?? 10_000);
          const expected = Math.ceil(rate * options.durationS * 1.5);
          const r = await loadOnce(
            s,
            generator,
            options,
            place,
            options.durationS,
            expected,
            upstream.process.pid,
          );
          s.result.rounds.push({ ...r, round });
          log(
            `round ${round}/${options.rounds} ${s.row.id}: ${r.requestsPerSecond.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.cpuUsPerRequest.toFixed(1)} CPU µs/req${r.errors ? `, ${r.errors} errors` : ''}`,
          );
        } catch (error) {
          s.result.status = 'failed';
          s.result.reason = error instanceof Error ? error.message : String(error);
          keepTemp = true;
          log(`${s.row.id}: failed in round ${round} — ${s.result.reason}`);
        }
      }
    }
    for (const s of started) {
      s.result.median = mediansOf(s.result.rounds);
      if (s.result.status === 'measured' && !s.result.median) s.result.status = 'failed';
    }

    // Latency at fixed rates (open loop, paced generator): rows and rates interleaved within
    // each round, like the saturation rounds; medians over rounds.
    const rateRows = started.filter(
      (s) =>
        s.result.status === 'measured' &&
        (options.rateRows === null || options.rateRows.includes(s.row.id)),
    );
    if (options.rates.length > 0 && rateRows.length > 0) {
      log(
        `fixed-rate latency at ${options.rates.join(', ')} req/s on ${rateRows.map((s) => s.row.id).join(', ')}`,
      );
    }
    const fixed = new Map<Started, FixedRateResult[]>();
    for (const s of rateRows) {
      const perRate = options.rates.map((rate): FixedRateResult => ({
        rate,
        status: 'measured',
        rounds: [],
      }));
      if (perRate.length > 0) {
        fixed.set(s, perRate);
        s.result.fixedRate = perRate;
      }
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const [rateIndex, rate] of options.rates.entries()) {
        for (const s of rateRows) {
          const entry = fixed.get(s)?.[rateIndex];
          if (!entry || entry.status !== 'measured') continue;
          try {
            const r = await fixedRateOnce(s, rate, options, place);
            entry.rounds.push({ ...r, round });
            log(
              `fixed rate ${rate} req/s, round ${round}/${options.rounds} ${s.row.id}: ${r.achievedRate.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, max ${r.maxMs.toFixed(2)} ms${r.errors ? `, ${r.errors} errors` : ''}`,
            );
          } catch (error) {
            entry.status = 'failed';
            entry.reason = error instanceof Error ? error.message : String(error);
            keepTemp = true;
            log(`${s.row.id}: fixed rate ${rate} req/s failed in round ${round} — ${entry.reason}`);
          }
        }
      }
    }
    for (const perRate of fixed.values()) {
      for (const entry of perRate) {
        entry.median = fixedRateMediansOf(entry.rounds);
        if (entry.status === 'measured' && !entry.median) entry.status = 'failed';
      }
    }

    const cpuInfo = cpus();
    const output: BenchResults = {
      date: new Date().toISOString(),
      machine: {
        cpus: availableParallelism(),
        cpuModel: cpuInfo[0]?.model.trim() ?? 'unknown',
        node: process.version,
        os: `${type()} ${release()}`,
      },
      options: {
        durationS: options.durationS,
        rounds: options.rounds,
        connections: options.connections,
        rows: options.rows,
        rates: options.rates,
        cpuProfDir,
      },
      loadGenerator: generator.name,
      pinning: place.description,
      issuerRequests: { ...issuer.counters },
      rows: results,
      micro: [],
    };

    if (cpuProfDir) log('stopping the rows (profiled processes write their profiles on exit)');
    for (const s of started) await s.running.stop().catch(() => undefined);
    await stopAllProcesses();
    if (cpuProfDir) log(`CPU profiles: ${cpuProfDir}/<row>/*.cpuprofile`);
    await issuer.close();
    issuer = null;

    if (options.micro) output.micro = await runMicroBenchmarks(REPO_ROOT, MICRO_TIMEOUT_MS, log);

    mkdirSync(RESULTS_DIR, { recursive: true });
    // A run of a subset of the rows (--rows) must not replace the full table in latest.md.
    const base = options.rows ? 'subset' : 'latest';
    writeFileSync(join(RESULTS_DIR, `${base}.json`), `${JSON.stringify(output, null, 2)}\n`);
    writeFileSync(join(RESULTS_DIR, `${base}.md`), renderMarkdown(output));
    log(`wrote ${join(RESULTS_DIR, `${base}.md`)} and ${base}.json`);
    const rateLine = rateSummaryLine(output);
    if (rateLine) console.log(rateLine);
    console.log(summaryLine(output));
    return 0;
  } finally {
    await stopAllProcesses();
    await issuer?.close();
    tempToRemoveOnSignal = null;
    if (keepTemp) log(`kept temp dir ${tempRoot}`);
    else rmSync(tempRoot, { recursive: true, force: true });
  }
}

function makeContext(
  issuer: FixtureIssuer,
  upstreamUrl: string,
  tempDir: string,
  serverCpus: string | null,
  nodeArgs: readonly string[],
): BenchContext {
  return {
    issuer,
    upstreamUrl,
    audience: BENCH_AUDIENCE,
    toolName: TOOL_NAME,
    requiredScope: REQUIRED_SCOPE,
    mcpPath: MCP_PATH,
    tempDir,
    serverCpus,
    nodeArgs,
    repoRoot: REPO_ROOT,
    spawnServer: (name, command, args, opts) =>
      spawnManaged(command, args, {
        logPath: join(tempDir, `${name}.log`),
        cpus: serverCpus,
        env: opts?.env,
        readPort: opts?.readPort,
        stopGraceMs: nodeArgs.length > 0 ? PROFILED_STOP_GRACE_MS : undefined,
      }),
    freePort,
    waitForPort: (port, proc) => waitForPort(port, proc),
    log,
  };
}

/** The tokens for one load run of `expectedRequests` requests (a pool for uncached rows). */
async function tokensFor(s: Started, expectedRequests: number): Promise<string[]> {
  const tokens = s.row.loadTokens
    ? await s.row.loadTokens(s.ctx, expectedRequests)
    : [(await s.row.token('valid', s.ctx)) as string];
  if (tokens.length === 0 || tokens.some((t) => typeof t !== 'string' || t.length === 0)) {
    throw new Error('the row gave no valid token for the load');
  }
  return tokens;
}

/** One fixed-rate run on one row (paced generator), with the CPU time of its processes. */
async function fixedRateOnce(
  s: Started,
  rate: number,
  options: BenchOptions,
  place: Placement,
): Promise<Omit<FixedRateRound, 'round'>> {
  const tokens = await tokensFor(s, plannedRequests(rate, RATE_WARMUP_S + options.durationS));
  const before = cpuTicks(withDescendants(s.running.pids()));
  const r = await runPaced({
    url: s.running.url,
    tokens,
    body: TOOLS_CALL_BODY,
    headers: MCP_REQUEST_HEADERS,
    connections: options.connections,
    durationS: options.durationS,
    cpus: place.generator,
    workDir: s.ctx.tempDir,
    rate,
    warmupS: RATE_WARMUP_S,
    timeoutS: RATE_TIMEOUT_S,
  });
  const after = cpuTicks(withDescendants(s.running.pids()));
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  const cpuUs = (ticks * 1e6) / clockTicksPerSecond();
  return {
    scheduled: r.scheduled,
    completed: r.completed,
    errors: r.errors,
    durationS: r.durationS,
    achievedRate: r.achievedRate,
    p50Ms: r.p50Ms,
    p90Ms: r.p90Ms,
    p99Ms: r.p99Ms,
    maxMs: r.maxMs,
    sendLagP99Ms: r.sendLagP99Ms,
    cpuUsPerRequest: cpuUs / Math.max(1, r.sentTotal),
  };
}

/** One bounded load run on one row, with the CPU time of its processes around it. */
async function loadOnce(
  s: Started,
  generator: LoadGenerator,
  options: BenchOptions,
  place: Placement,
  durationS: number,
  expectedRequests: number,
  upstreamPid: number,
): Promise<Omit<RoundResult, 'round'>> {
  const tokens = await tokensFor(s, expectedRequests);
  const isDirect = s.row.id === 'direct';
  const before = cpuTicks(withDescendants(s.running.pids()));
  const upstreamBefore = cpuTicks([upstreamPid]).get(upstreamPid) ?? 0;
  const load = await generator.run({
    url: s.running.url,
    tokens,
    body: TOOLS_CALL_BODY,
    headers: MCP_REQUEST_HEADERS,
    connections: options.connections,
    durationS,
    cpus: place.generator,
    workDir: s.ctx.tempDir,
  });
  const after = cpuTicks(withDescendants(s.running.pids()));
  const upstreamAfter = cpuTicks([upstreamPid]).get(upstreamPid) ?? 0;
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  const usPerTick = 1e6 / clockTicksPerSecond();
  const cpuUs = ticks * usPerTick;
  const requests = Math.max(1, load.requests);
  return {
    requests: load.requests,
    errors: load.errors,
    durationS: load.durationS,
    requestsPerSecond: load.requestsPerSecond,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    cpuUs,
    cpuUsPerRequest: cpuUs / requests,
    upstreamCpuUsPerRequest: isDirect
      ? null
      : ((upstreamAfter - upstreamBefore) * usPerTick) / requests,
    distinctTokens: tokens.length,
  };
}

process.on('exit', killAllProcessesNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping every process started by the bench`);
    void stopAllProcesses().finally(() => {
      if (tempToRemoveOnSignal) rmSync(tempToRemoveOnSignal, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    void stopAllProcesses().finally(() => process.exit(1));
  },
);
