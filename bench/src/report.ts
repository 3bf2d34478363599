/**
 * Renders a run's results as `bench/results/latest.md`: the speed table (each row as a ratio to
 * the bare Node proxy and to Apache), the correctness table, the micro-benchmarks, and a last
 * line `gateway/bare-proxy=R gateway/apache=S`.
 */
import { TOKEN_KIND_DESCRIPTIONS, TOKEN_KINDS } from './tokens.js';
import type { CorrectnessCell } from './correctness.js';
import { BASELINE_ROW_IDS } from './rows/registry.js';
import { ratio, type BenchResults, type RowMedians, type RowResult } from './results.js';

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

/** The whole latest.md. */
export function renderMarkdown(results: BenchResults): string {
  const o = results.options;
  const out: string[] = [
    '# mcp-iam benchmark — latest run',
    '',
    `Date: ${results.date}. Machine: ${results.machine.cpus} CPU(s), ${results.machine.cpuModel}; Node ${results.machine.node}; ${results.machine.os}.`,
    `Load: ${results.loadGenerator}, ${o.connections} connections, ${o.rounds} round(s) of ${o.durationS} s per row, rows interleaved; medians over rounds.`,
    `Pinning: ${results.pinning}.`,
    'Every request: MCP JSON-RPC `tools/call` POST with a Bearer token to the fixed-answer upstream (through the row).',
    'See bench/README.md for what each row is and how to read the tables.',
    '',
    '## Speed',
    '',
    "×bare proxy / ×Apache: the row's req/s (or CPU µs per request) divided by that of the bare Node proxy / of Apache. CPU µs/req counts the row's own processes (the proxy and its workers, not the shared upstream); \"upstream CPU\" is the fixed-answer upstream's share.",
    '',
    ...speedTable(results),
    '',
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
  out.push('## Summary', '');
  out.push(
    caveat
      ? `Throughput ratios of the cached-JWT gateway row; n/a because ${caveat}.`
      : 'Throughput (req/s) ratios of the cached-JWT gateway row.',
  );
  out.push('', summaryLine(results), '');
  return out.join('\n');
}
