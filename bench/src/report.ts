/**
 * Renders a run's results as `bench/results/latest.md`: the speed table (each row as a ratio to
 * the bare Node proxy and to Apache), the latency at fixed rates, the correctness table, the
 * micro-benchmarks, and the summary: a line `p99@2000req/s: gateway=…` when the gateway row was
 * measured at 2 000 req/s, then the last line `gateway/bare-proxy=R gateway/apache=S`.
 */
import { TOKEN_KIND_DESCRIPTIONS, TOKEN_KINDS } from './tokens.js';
import type { CorrectnessCell } from './correctness.js';
import { BASELINE_ROW_IDS } from './rows/registry.js';
import {
  ratio,
  type BenchResults,
  type FixedRateResult,
  type RowMedians,
  type RowResult,
} from './results.js';

/** The fixed rate of the gateway's latency target (p99 ≤ 2 ms at 2 000 req/s). */
export const SUMMARY_RATE = 2000;

const rps = (m: RowMedians): number => m.requestsPerSecond;
const cpu = (m: RowMedians): number => m.cpuUsPerRequest;

function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : value.toFixed(digits);
}

function byId(results: BenchResults, id: string): RowResult | undefined {
  return results.rows.find((row) => row.id === id);
}

/**
 * The summary line: throughput (req/s) of the cached-JWT gateway row over the bare proxy and
 * over Apache, two decimals, `n/a` where a row was not measured.
 */
export function summaryLine(results: BenchResults): string {
  const gateway = byId(results, BASELINE_ROW_IDS.gateway);
  const bare = ratio(gateway, byId(results, BASELINE_ROW_IDS.bareProxy), rps);
  const apache = ratio(gateway, byId(results, BASELINE_ROW_IDS.apache), rps);
  return `gateway/bare-proxy=${fixed(bare, 2)} gateway/apache=${fixed(apache, 2)}`;
}

function fixedAt(row: RowResult | undefined, rate: number): FixedRateResult | undefined {
  return row?.fixedRate?.find((f) => f.rate === rate);
}

/**
 * The fixed-rate summary line, e.g. `p99@2000req/s: gateway=3.41ms bare-proxy=0.80ms
 * direct=0.41ms`: the p99 latency (median over rounds) of the cached-JWT gateway row at
 * {@link SUMMARY_RATE}, then of the bare proxy and direct rows for reference when they were
 * measured too. A figure gets `(N errors)` when requests failed, and `(achieved R req/s)` when
 * the row fell more than 5 % short of the rate. Null when the gateway row was not measured at
 * that rate.
 */
export function rateSummaryLine(results: BenchResults): string | null {
  const gateway = fixedAt(byId(results, BASELINE_ROW_IDS.gateway), SUMMARY_RATE);
  if (!gateway) return null;
  const parts: string[] = [];
  for (const id of [BASELINE_ROW_IDS.gateway, BASELINE_ROW_IDS.bareProxy, 'direct']) {
    const entry = fixedAt(byId(results, id), SUMMARY_RATE);
    if (!entry) continue;
    const m = entry.median;
    if (entry.status !== 'measured' || !m) {
      parts.push(`${id}=n/a`);
      continue;
    }
    const notes: string[] = [];
    if (m.errors > 0) notes.push(`${m.errors} errors`);
    if (m.achievedRate < 0.95 * SUMMARY_RATE) {
      notes.push(`achieved ${fixed(m.achievedRate, 0)} req/s`);
    }
    parts.push(`${id}=${fixed(m.p99Ms, 2)}ms${notes.length > 0 ? `(${notes.join(', ')})` : ''}`);
  }
  return `p99@${SUMMARY_RATE}req/s: ${parts.join(' ')}`;
}

/** Why the summary line has `n/a` in it, or null when it has none. */
export function summaryCaveat(results: BenchResults): string | null {
  const reasons: string[] = [];
  for (const id of [
    BASELINE_ROW_IDS.gateway,
    BASELINE_ROW_IDS.bareProxy,
    BASELINE_ROW_IDS.apache,
  ]) {
    const row = byId(results, id);
    if (!row) reasons.push(`row "${id}" was not selected`);
    else if (row.status !== 'measured')
      reasons.push(`row "${id}" was ${row.status}: ${row.reason ?? ''}`);
  }
  return reasons.length > 0 ? reasons.join('; ') : null;
}

function cellText(cell: CorrectnessCell | undefined): string {
  if (!cell) return '';
  const status = cell.status === null ? '' : ` (${cell.status})`;
  switch (cell.verdict) {
    case 'correct':
      return cell.kind === 'valid' ? `accepted${status}` : `rejected${status}`;
    case 'wrongly-accepted':
      return `**ACCEPTED**${status}`;
    case 'wrongly-rejected':
      return `**REJECTED**${status}`;
    case 'not-applicable':
      return 'n/a';
    case 'error':
      return 'no answer';
  }
}

function speedTable(results: BenchResults): string[] {
  const bare = byId(results, BASELINE_ROW_IDS.bareProxy);
  const apache = byId(results, BASELINE_ROW_IDS.apache);
  const lines = [
    '| Row | req/s | ×bare proxy | ×Apache | p50 ms | p99 ms | CPU µs/req | CPU ×bare proxy | CPU ×Apache | upstream CPU µs/req | errors | req/s per round |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of results.rows) {
    const m = row.median;
    if (row.status !== 'measured' || !m) {
      const why = `${row.status}: ${row.reason ?? ''}${row.install ? ` (install: \`${row.install}\`)` : ''}`;
      lines.push(`| ${row.title} | ${why} |  |  |  |  |  |  |  |  |  |  |`);
      continue;
    }
    lines.push(
      [
        '',
        row.title,
        fixed(m.requestsPerSecond, 0),
        fixed(ratio(row, bare, rps), 2),
        fixed(ratio(row, apache, rps), 2),
        fixed(m.p50Ms, 2),
        fixed(m.p99Ms, 2),
        fixed(m.cpuUsPerRequest, 1),
        fixed(ratio(row, bare, cpu), 2),
        fixed(ratio(row, apache, cpu), 2),
        fixed(m.upstreamCpuUsPerRequest, 1),
        String(m.errors),
        row.rounds.map((r) => r.requestsPerSecond.toFixed(0)).join(' / '),
        '',
      ]
        .join(' | ')
        .trim(),
    );
  }
  return lines;
}

/** One line of text that cannot break a Markdown table cell (e.g. a child's error output). */
function cellSafe(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(0, 300);
}

function fixedRateTable(results: BenchResults): string[] {
  const rates = [
    ...new Set(results.rows.flatMap((row) => (row.fixedRate ?? []).map((f) => f.rate))),
  ].sort((a, b) => a - b);
  const lines = [
    '| Row | target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | max ms | errors | CPU µs/req | generator lag p99 ms | p99 ms per round |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const rate of rates) {
    for (const row of results.rows) {
      const entry = fixedAt(row, rate);
      if (!entry) continue;
      const m = entry.median;
      if (entry.status !== 'measured' || !m) {
        lines.push(
          `| ${row.title} | ${rate} | failed: ${cellSafe(entry.reason ?? '')} |  |  |  |  |  |  |  |  |`,
        );
        continue;
      }
      lines.push(
        [
          '',
          row.title,
          String(rate),
          fixed(m.achievedRate, 0),
          fixed(m.p50Ms, 2),
          fixed(m.p90Ms, 2),
          fixed(m.p99Ms, 2),
          fixed(m.maxMs, 2),
          String(m.errors),
          fixed(m.cpuUsPerRequest, 1),
          fixed(m.sendLagP99Ms, 2),
          entry.rounds.map((r) => fixed(r.p99Ms, 2)).join(' / '),
          '',
        ]
          .join(' | ')
          .trim(),
      );
    }
  }
  return lines;
}

function correctnessTable(results: BenchResults): string[] {
  const lines = [
    `| Row | ${TOKEN_KINDS.join(' | ')} | wrongly accepted |`,
    `|---|${TOKEN_KINDS.map(() => '---').join('|')}|---|`,
  ];
  for (const row of results.rows) {
    if (row.correctness.length === 0) {
      lines.push(`| ${row.title} | ${TOKEN_KINDS.map(() => row.status).join(' | ')} |  |`);
      continue;
    }
    const cells = TOKEN_KINDS.map((kind) => row.correctness.find((c) => c.kind === kind));
    const wrong = row.correctness
      .filter((c) => c.verdict === 'wrongly-accepted')
      .map((c) => c.kind);
    const broken = row.correctness.some((c) => c.verdict === 'wrongly-rejected');
    const summary = `${wrong.length > 0 ? wrong.join(', ') : 'none'}${broken ? ' — rejects the valid token!' : ''}`;
    lines.push(`| ${row.title} | ${cells.map(cellText).join(' | ')} | ${summary} |`);
  }
  return lines;
}

function fixedRateSection(results: BenchResults): string[] {
  const measured = results.rows.some((row) => (row.fixedRate ?? []).length > 0);
  const out = ['## Latency at a fixed rate', ''];
  if (!measured) {
    out.push(
      results.options.rates && results.options.rates.length === 0
        ? 'Not run (`--no-rate`).'
        : 'Not run (no selected row was measured at a fixed rate).',
      '',
    );
    return out;
  }
  out.push(
    `Open loop: the bench's paced generator sends requests on a schedule fixed in advance (request i at i / rate), over up to ${results.options.connections} keep-alive connections, whatever the answers do; 1 s at the rate first, not counted. Latency runs from each request's scheduled send time to the end of its answer, so a stall is charged to every request it delays (corrected for coordinated omission); 2xx answers only, everything else is an error. "generator lag" is how late the generator itself sent (its own share of the latencies). Medians over rounds; CPU µs/req is the row's own processes, warm-up included.`,
    '',
    ...fixedRateTable(results),
    '',
  );
  return out;
}

/** The whole latest.md. */
export function renderMarkdown(results: BenchResults): string {
  const o = results.options;
  const out: string[] = [
    '# mcp-iam benchmark — latest run',
    '',
    `Date: ${results.date}. Machine: ${results.machine.cpus} CPU(s), ${results.machine.cpuModel}; Node ${results.machine.node}; ${results.machine.os}.`,
    `Load: ${results.loadGenerator}, ${o.connections} connections, ${o.rounds} round(s) of ${o.durationS} s per row, rows interleaved; medians over rounds.`,
    `Pinning: ${results.pinning}.`,
    ...(o.cpuProfDir
      ? [
          `Profiled: the Node server rows ran under \`node --cpu-prof\` (profiles in ${o.cpuProfDir}/<row>); their figures include the profiler's overhead.`,
        ]
      : []),
    'Every request: MCP JSON-RPC `tools/call` POST with a Bearer token to the fixed-answer upstream (through the row).',
    'See bench/README.md for what each row is and how to read the tables.',
    '',
    '## Speed',
    '',
    "×bare proxy / ×Apache: the row's req/s (or CPU µs per request) divided by that of the bare Node proxy / of Apache. CPU µs/req counts the row's own processes (the proxy and its workers, not the shared upstream); \"upstream CPU\" is the fixed-answer upstream's share.",
    '',
    ...speedTable(results),
    '',
    ...fixedRateSection(results),
    '## Correctness',
    '',
    'Each row receives the same tokens once; a 2xx answer counts as accepted. **ACCEPTED** marks a bad token the row let through. The direct and bare-proxy rows check nothing, by design.',
    '',
    ...TOKEN_KINDS.map((kind) => `- \`${kind}\`: ${TOKEN_KIND_DESCRIPTIONS[kind]}`),
    '',
    ...correctnessTable(results),
    '',
    `Fixture issuer requests during the run: JWKS ${results.issuerRequests.jwks}, discovery ${results.issuerRequests.discovery}, introspection ${results.issuerRequests.introspection}.`,
    '',
    '## Micro-benchmarks',
    '',
  ];
  if (results.micro.length === 0) out.push('Not run (`--no-micro`).', '');
  for (const micro of results.micro) {
    out.push(`### ${micro.workspace}`, '');
    if (micro.status === 'skipped') out.push(`Skipped: ${micro.note ?? ''}.`, '');
    else {
      if (micro.status === 'failed') out.push(`Failed: ${micro.note ?? ''}`, '');
      out.push('```text', micro.output ?? '', '```', '');
    }
  }
  const caveat = summaryCaveat(results);
  const rateLine = rateSummaryLine(results);
  out.push('## Summary', '');
  if (rateLine) {
    out.push(
      `p99 latency at ${SUMMARY_RATE} req/s (fixed rate, from the scheduled send time; median over rounds) of the cached-JWT gateway row, and of the bare proxy and direct rows when measured:`,
      '',
      rateLine,
      '',
    );
  }
  out.push(
    caveat
      ? `Throughput ratios of the cached-JWT gateway row; n/a because ${caveat}.`
      : 'Throughput (req/s) ratios of the cached-JWT gateway row.',
  );
  out.push('', summaryLine(results), '');
  return out.join('\n');
}
