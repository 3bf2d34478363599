/**
 * `mcp-iam check --config FILE`: validates the configuration file, then reaches everything it
 * names — every issuer (discovery and key set, introspection client authentication), the gateway's
 * own IdP client, and every upstream — and prints a readable report. Nothing is served.
 */
import { access, constants } from 'node:fs/promises';
import { isAbsolute, delimiter, join } from 'node:path';
import { basicCredentials, createAccessTokenVerifier, discoverIssuer } from '@mcp-iam/core';
import {
  ConfigError,
  formatConfigIssue,
  loadConfigFile,
  resourceUrl,
  trustedIssuer,
  verifierProblems,
  type GatewayConfig,
  type LoadConfigOptions,
} from '../config/index.js';

/** One line of the report. */
export interface CheckFinding {
  readonly ok: boolean;
  /** What was checked, e.g. `issuer http://127.0.0.1:4000: key set`. */
  readonly subject: string;
  readonly detail: string;
}

/** Result of {@link checkConfig}. */
export interface CheckReport {
  readonly ok: boolean;
  /** False when the file itself is invalid (then nothing was probed). */
  readonly configurationValid: boolean;
  readonly findings: readonly CheckFinding[];
}

/** Options of {@link checkConfig}. */
export interface CheckOptions {
  readonly configFile: string;
  readonly env?: LoadConfigOptions['env'];
  /** Timeout of each network probe in ms (default 5000). */
  readonly timeoutMs?: number;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function probeIntrospection(
  endpoint: string,
  clientId: string,
  clientSecret: string,
  timeoutMs: number,
): Promise<CheckFinding['detail']> {
  const response = await fetch(endpoint, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      authorization: `Basic ${basicCredentials(clientId, clientSecret)}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ token: 'mcp-iam-check-probe' }).toString(),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.status === 401 || response.status === 400) {
    throw new Error(`client authentication refused (HTTP ${response.status})`);
  }
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const body = (await response.json()) as { active?: unknown };
  if (body.active !== false) throw new Error('a made-up token did not introspect as inactive');
  return 'client authentication accepted; a made-up token is inactive';
}

/**
 * Proves the gateway's own client can authenticate at the token endpoint: a token-exchange request
 * with a made-up subject token must fail on the subject (invalid_grant / invalid_request /
 * invalid_target), not on the client (invalid_client / unauthorized_client).
 */
async function probeExchangeClient(
  config: GatewayConfig,
  timeoutMs: number,
): Promise<CheckFinding> {
  const client = config.client!;
  const subject = `client ${client.client_id}: token exchange`;
  const issuer = config.issuers[0]!;
  try {
    const endpoint =
      client.token_endpoint ??
      (
        await discoverIssuer(issuer.issuer, {
          timeoutMs,
          allowInsecureLoopbackHttp: issuer.allow_insecure_loopback_http ?? false,
        })
      ).token_endpoint;
    if (!endpoint) throw new Error(`the metadata of ${issuer.issuer} has no token_endpoint`);
    const target = config.routes.find((r) => r.downstream?.mode === 'token-exchange');
    const audience = target?.downstream?.audience ?? target?.upstream.url;
    const response = await fetch(endpoint, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        authorization: `Basic ${basicCredentials(client.client_id, client.client_secret ?? '')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: 'mcp-iam-check-probe',
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        ...(audience ? { resource: audience } : {}),
      }).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json().catch(() => ({}))) as { error?: unknown };
    if (response.status === 401 || body.error === 'invalid_client') {
      throw new Error('client authentication refused (check client_id and client_secret)');
    }
    if (body.error === 'unauthorized_client' || body.error === 'unsupported_grant_type') {
      throw new Error(`the IdP does not let this client exchange tokens (${String(body.error)})`);
    }
    if (response.status >= 500) throw new Error(`token endpoint answered HTTP ${response.status}`);
    return { ok: true, subject, detail: `client authentication accepted at ${endpoint}` };
  } catch (error) {
    return { ok: false, subject, detail: message(error) };
  }
}

async function probeUpstream(config: GatewayConfig, timeoutMs: number): Promise<CheckFinding[]> {
  const findings: CheckFinding[] = [];
  for (const route of config.routes) {
    const subject = `route ${route.name} upstream`;
    const upstream = route.upstream;
    try {
      if (upstream.url) {
        const response = await fetch(upstream.url, {
          method: 'GET',
          redirect: 'manual',
          headers: { accept: 'text/event-stream' },
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.body?.cancel();
        findings.push({
          ok: true,
          subject,
          detail: `${upstream.url} answers (HTTP ${response.status})`,
        });
      } else if (upstream.command) {
        const path = await findExecutable(upstream.command, upstream.env?.PATH ?? process.env.PATH);
        findings.push({ ok: true, subject, detail: `command ${path} is executable` });
      }
    } catch (error) {
      findings.push({ ok: false, subject, detail: message(error) });
    }
  }
  return findings;
}

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

/**
 * Validates a configuration file and probes everything it names.
 *
 * @example
 * ```ts
 * const report = await checkConfig({ configFile: 'gateway.yaml' });
 * if (!report.ok) process.exitCode = 1;
 * ```
 */
export async function checkConfig(options: CheckOptions): Promise<CheckReport> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const findings: CheckFinding[] = [];
  let config: GatewayConfig;
  try {
    ({ config } = await loadConfigFile(options.configFile, {
      ...(options.env ? { env: options.env } : {}),
      rules: [verifierProblems],
    }));
    findings.push({ ok: true, subject: 'configuration', detail: `${options.configFile} is valid` });
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const issue of error.issues) {
        findings.push({ ok: false, subject: 'configuration', detail: formatConfigIssue(issue) });
      }
    } else {
      findings.push({ ok: false, subject: 'configuration', detail: message(error) });
    }
    return { ok: false, configurationValid: false, findings };
  }

  const verifier = createAccessTokenVerifier({
    issuers: config.issuers.map((issuer) => ({
      ...trustedIssuer(issuer),
      keyRefreshIntervalSec: 3600,
      fetchTimeoutMs: timeoutMs,
    })),
  });
  try {
    for (const route of config.routes) {
      try {
        verifier.checkContext({
          resource: resourceUrl(config, route),
          ...(route.audiences ? { audiences: route.audiences } : {}),
          ...(route.issuers ? { issuers: route.issuers } : {}),
        });
      } catch (error) {
        findings.push({ ok: false, subject: `route ${route.name}`, detail: message(error) });
      }
    }
    await verifier.start();
    for (const state of verifier.state().issuers) {
      const subject = `issuer ${state.issuer}`;
      if (state.keySet) {
        const ks = state.keySet;
        if (!ks.usable) {
          findings.push({
            ok: false,
            subject: `${subject}: key set`,
            detail: `not loaded: ${ks.lastError ?? 'unknown error'}`,
          });
        } else if (ks.keyCount === 0) {
          findings.push({
            ok: false,
            subject: `${subject}: key set`,
            detail: 'loaded, but it has no key usable with the configured algorithms',
          });
        } else {
          findings.push({
            ok: true,
            subject: `${subject}: key set`,
            detail: `${ks.keyCount} usable key(s)`,
          });
        }
      }
      const issuer = config.issuers.find((i) => i.issuer === state.issuer);
      const introspection = issuer?.introspection;
      if (introspection) {
        try {
          const detail = await probeIntrospection(
            introspection.endpoint,
            introspection.client_id,
            introspection.client_secret ?? '',
            timeoutMs,
          );
          findings.push({ ok: true, subject: `${subject}: introspection`, detail });
        } catch (error) {
          findings.push({
            ok: false,
            subject: `${subject}: introspection`,
            detail: message(error),
          });
        }
      }
    }
  } finally {
    verifier.close();
  }
  if (config.client) findings.push(await probeExchangeClient(config, timeoutMs));
  findings.push(...(await probeUpstream(config, timeoutMs)));
  return { ok: findings.every((f) => f.ok), configurationValid: true, findings };
}

/** Renders a report as text, one finding per line. */
export function formatCheckReport(report: CheckReport): string {
  const lines = report.findings.map((f) => `${f.ok ? 'ok  ' : 'FAIL'}  ${f.subject}: ${f.detail}`);
  lines.push(report.ok ? 'all checks passed' : 'some checks failed');
  return `${lines.join('\n')}\n`;
}
