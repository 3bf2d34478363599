/**
 * `mcp-iam check --config FILE`: validates the configuration file, then reaches everything it
 * names — every issuer (metadata, key set, the `typ` of its tokens where the IdP is recognisable,
 * introspection client authentication), the gateway's own IdP client, and every upstream — and
 * prints a readable report. Every failure names the URL, the cause and, for a refused client, the
 * YAML keys to fix. Nothing is served.
 */
import { createAccessTokenVerifier } from '@mcp-iam/core';
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
import { probeExchangeClient } from './check/client-probes.js';
import { probeIssuer } from './check/issuer-probe.js';
import { finding, type CheckFinding, type CheckReport } from './check/report.js';
import { probeUpstreams } from './check/upstream-probe.js';

export {
  formatCheckReport,
  type CheckFinding,
  type CheckReport,
  type FindingLevel,
} from './check/report.js';
export {
  UnknownRouteError,
  formatTokenVerdict,
  verdictForToken,
  type OperationVerdict,
  type TokenVerdict,
  type TokenVerdictOptions,
} from './check/token-verdict.js';
export type { ClaimComparison } from './check/token-claims.js';

/** Options of {@link checkConfig} and {@link loadCheckedConfig}. */
export interface CheckOptions {
  readonly configFile: string;
  readonly env?: LoadConfigOptions['env'];
  /** Timeout of each network probe in ms (default 5000). */
  readonly timeoutMs?: number;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Loads the configuration file for a check, with the rules the gateway's verifier adds
 * (`verifierProblems`): the configuration, or the report of an invalid file (one finding per
 * problem, `configurationValid: false`).
 */
export async function loadCheckedConfig(
  options: CheckOptions,
): Promise<{ config: GatewayConfig } | { report: CheckReport }> {
  try {
    const { config } = await loadConfigFile(options.configFile, {
      ...(options.env ? { env: options.env } : {}),
      rules: [verifierProblems],
    });
    return { config };
  } catch (error) {
    const issues =
      error instanceof ConfigError ? error.issues.map(formatConfigIssue) : [message(error)];
    const findings = issues.map((detail) => finding('fail', 'configuration', detail));
    return { report: { ok: false, configurationValid: false, findings } };
  }
}

/** Issuers and routes, through the verifier the gateway would build from the same file. */
async function probeIssuers(config: GatewayConfig, timeoutMs: number): Promise<CheckFinding[]> {
  const findings: CheckFinding[] = [];
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
        findings.push(finding('fail', `route ${route.name}`, message(error)));
      }
    }
    await verifier.start();
    const states = verifier.state().issuers;
    for (const [index, issuer] of config.issuers.entries()) {
      const state = states.find((s) => s.issuer === issuer.issuer);
      findings.push(...(await probeIssuer(issuer, index, state, timeoutMs)));
    }
  } finally {
    verifier.close();
  }
  return findings;
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
  const loaded = await loadCheckedConfig(options);
  if ('report' in loaded) return loaded.report;
  const { config } = loaded;
  const findings: CheckFinding[] = [
    finding('ok', 'configuration', `${options.configFile} is valid`),
    ...(await probeIssuers(config, timeoutMs)),
  ];
  if (config.client) findings.push(await probeExchangeClient(config, timeoutMs));
  findings.push(...(await probeUpstreams(config, timeoutMs)));
  return { ok: findings.every((f) => f.ok), configurationValid: true, findings };
}
