/**
 * Probes of the routes' upstreams: an HTTP upstream must answer (any status: a GET without a
 * session may well get 405), a stdio command must be found and executable. A failure names the
 * URL or command and the cause.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import type { GatewayConfig } from '../../config/index.js';
import { describeSilence, probe } from './http-probe.js';
import { finding, type CheckFinding } from './report.js';

async function findExecutable(command: string, pathList: string | undefined): Promise<string> {
  const candidates =
    isAbsolute(command) || command.includes('/')
      ? [command]
      : (pathList ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(`command ${command} not found or not executable`);
}

/** One finding per route: its upstream answers, or its command can be started. */
export async function probeUpstreams(
  config: GatewayConfig,
  timeoutMs: number,
): Promise<CheckFinding[]> {
  const findings: CheckFinding[] = [];
  for (const route of config.routes) {
    const subject = `route ${route.name} upstream`;
    const upstream = route.upstream;
    if (upstream.url) {
      const answer = await probe(
        upstream.url,
        { method: 'GET', headers: { accept: 'text/event-stream' } },
        timeoutMs,
      );
      findings.push(
        answer.kind === 'silence'
          ? finding('fail', subject, describeSilence('GET', upstream.url, answer))
          : finding('ok', subject, `${upstream.url} answers (HTTP ${answer.status})`),
      );
    } else if (upstream.command) {
      try {
        const path = await findExecutable(upstream.command, upstream.env?.PATH ?? process.env.PATH);
        findings.push(finding('ok', subject, `command ${path} is executable`));
      } catch (error) {
        findings.push(
          finding('fail', subject, error instanceof Error ? error.message : String(error)),
        );
      }
    }
  }
  return findings;
}
