/**
 * The report of `mcp-iam check`: one finding per thing checked, each ok, a warning (the gateway
 * would run, but something will not work as the file intends) or a failure, rendered one per line.
 */

/** How a finding ended: `warn` does not fail the check. */
export type FindingLevel = 'ok' | 'warn' | 'fail';

/** One line of the report. */
export interface CheckFinding {
  /** False only for `fail`. */
  readonly ok: boolean;
  readonly level: FindingLevel;
  /** What was checked, e.g. `issuer http://127.0.0.1:4000: key set`. */
  readonly subject: string;
  readonly detail: string;
}

/** Result of `checkConfig`. */
export interface CheckReport {
  /** No finding failed. */
  readonly ok: boolean;
  /** False when the file itself is invalid (then nothing was probed). */
  readonly configurationValid: boolean;
  readonly findings: readonly CheckFinding[];
}

/** A finding at `level`. */
export function finding(level: FindingLevel, subject: string, detail: string): CheckFinding {
  return { ok: level !== 'fail', level, subject, detail };
}

const LABELS: Readonly<Record<FindingLevel, string>> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

/** Renders a report as text, one finding per line, then `all checks passed` or `some checks failed`. */
export function formatCheckReport(report: CheckReport): string {
  const lines = report.findings.map((f) => `${LABELS[f.level]}  ${f.subject}: ${f.detail}`);
  lines.push(report.ok ? 'all checks passed' : 'some checks failed');
  return `${lines.join('\n')}\n`;
}
