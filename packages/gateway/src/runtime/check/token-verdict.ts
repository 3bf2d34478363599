/**
 * `mcp-iam check --token FILE --route NAME`: would this route accept this token? The token goes
 * through the route's own pipeline (bearer → verify → policy), built from the configuration file
 * exactly as the gateway builds it, once for every operation the route's policy lists. The report
 * lists each claim against what the route expects (see token-claims.ts), the verifier's verdict
 * and, per operation, allowed or what it needs. The token itself is never printed.
 */
import { randomBytes } from 'node:crypto';
import {
  InMemoryAuditSink,
  McpIamError,
  createAccessTokenVerifier,
  decide,
  type McpOperation,
  type Principal,
  type ResourceServer,
} from '@mcp-iam/core';
import {
  resourceUrl,
  trustedIssuer,
  type GatewayConfig,
  type RouteConfig,
} from '../../config/index.js';
import { routeResourceServer } from '../guard.js';
import { compareClaims, decodeToken, type ClaimComparison } from './token-claims.js';

/** `--route` names no route of the configuration. */
export class UnknownRouteError extends McpIamError<'unknown_route'> {
  /** The routes the configuration has. */
  readonly routes: readonly string[];
  constructor(name: string, routes: readonly string[]) {
    super('unknown_route', `no route named ${JSON.stringify(name)} (routes: ${routes.join(', ')})`);
    this.routes = routes;
  }
}

/** What one operation of the route would get. */
export interface OperationVerdict {
  /** `initialize`, `tools/call update_contact`. */
  readonly label: string;
  readonly allowed: boolean;
  /** `allowed`, or the reason code of the refusal. */
  readonly reason: string;
  /** HTTP status the gateway would answer with when it refuses. */
  readonly status?: number;
  /** What the operation needs that the token lacks. */
  readonly detail: string;
}

/** The answer to "would this route accept this token?". */
export interface TokenVerdict {
  readonly route: string;
  readonly resource: string;
  /** The token verifies and at least one operation of the route allows it. */
  readonly accepted: boolean;
  /** `JWT (typ "at+jwt", alg ES256)`, `opaque token`, or why it is not a JWT. */
  readonly form: string;
  readonly claims: readonly ClaimComparison[];
  readonly verification:
    | { readonly ok: true; readonly detail: string }
    | { readonly ok: false; readonly reason: string; readonly detail: string };
  readonly operations: readonly OperationVerdict[];
}

/** Options of {@link verdictForToken}. */
export interface TokenVerdictOptions {
  /** The configuration, loaded with `verifierProblems` (as `loadCheckedConfig` loads it). */
  readonly config: GatewayConfig;
  /** The route's `name`. */
  readonly route: string;
  /** The access token, as a client would send it. */
  readonly token: string;
  /** Timeout of discovery, key set and introspection requests in ms (default 5000). */
  readonly timeoutMs?: number;
  /** Clock in epoch milliseconds (default `Date.now`). */
  readonly now?: () => number;
}

interface PlannedOperation {
  readonly label: string;
  readonly operation: McpOperation;
  readonly rpc: Record<string, unknown>;
}

/** Methods that need a target (a tool, resource or prompt): planned once per listed target. */
const TARGETED = new Set(['tools/call', 'resources/read', 'prompts/get']);

function planned(method: string, params: Record<string, unknown>, label: string): PlannedOperation {
  const notification = method.startsWith('notifications/');
  const operation: McpOperation = {
    kind: notification ? 'notification' : 'request',
    method,
    ...(typeof params.name === 'string'
      ? method === 'tools/call'
        ? { tool: params.name }
        : { prompt: params.name }
      : {}),
    ...(typeof params.uri === 'string' ? { resource: params.uri } : {}),
  };
  const rpc = { jsonrpc: '2.0', ...(notification ? {} : { id: 1 }), method, params };
  return { label, operation, rpc };
}

/** One operation per entry of the route's policy (`initialize` when the policy lists none). */
function plannedOperations(route: RouteConfig): PlannedOperation[] {
  const policy = route.policy ?? {};
  const out: PlannedOperation[] = [];
  for (const method of Object.keys(policy.methods ?? {})) {
    if (TARGETED.has(method) || method === 'GET' || method === 'DELETE') continue;
    const params =
      method === 'initialize'
        ? {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'mcp-iam check', version: '1' },
          }
        : {};
    out.push(planned(method, params, method));
  }
  for (const name of Object.keys(policy.tools ?? {})) {
    out.push(planned('tools/call', { name, arguments: {} }, `tools/call ${name}`));
  }
  for (const key of Object.keys(policy.resources ?? {})) {
    const uri = key.endsWith('*') ? key.slice(0, -1) : key;
    out.push(planned('resources/read', { uri }, `resources/read ${key}`));
  }
  for (const name of Object.keys(policy.prompts ?? {})) {
    out.push(planned('prompts/get', { name }, `prompts/get ${name}`));
  }
  return out.length > 0 ? out : [planned('initialize', {}, 'initialize')];
}

const list = (values: readonly string[]): string => `[${values.join(', ')}]`;

/** What a refused operation needs that `principal` lacks, from the policy's own decision. */
function needs(planned: PlannedOperation, principal: Principal, rs: ResourceServer): string {
  const decision = decide(planned.operation, principal, rs.policy);
  switch (decision.kind) {
    case 'allow':
      return '';
    case 'insufficient_scope':
      return `needs scopes ${list(decision.requiredScopes)}; the token grants ${list(principal.scopes)}`;
    case 'insufficient_user_authentication': {
      const parts: string[] = [];
      if (decision.acrValues) {
        parts.push(
          `acr one of ${list(decision.acrValues)} (the token has ${principal.acr ?? 'none'})`,
        );
      }
      if (decision.maxAge !== undefined) {
        const authTime = principal.authTime;
        parts.push(
          `a sign-in at most ${decision.maxAge} s old (the token's auth_time is ` +
            `${authTime === undefined ? 'missing' : new Date(authTime * 1000).toISOString()})`,
        );
      }
      return `needs ${parts.join(' and ')}: sign in again with a stronger method`;
    }
    case 'forbidden':
      return decision.reason === 'forbidden_client'
        ? `client ${principal.clientId} is not in the operation's clients`
        : `refused by the policy (${decision.reason})`;
  }
}

function describeForm(token: string): { form: string; decoded: ReturnType<typeof decodeToken> } {
  const decoded = decodeToken(token);
  if (decoded.kind === 'opaque')
    return { form: 'opaque token (checked by introspection)', decoded };
  if (decoded.kind === 'malformed') return { form: `not a JWT: ${decoded.problem}`, decoded };
  const typ = JSON.stringify(decoded.header.typ ?? null);
  return { form: `JWT (typ ${typ}, alg ${String(decoded.header.alg)})`, decoded };
}

/**
 * Runs `token` through the pipeline of the route named `route`, as the gateway would.
 *
 * @throws UnknownRouteError when the configuration has no such route.
 * @example
 * ```ts
 * const verdict = await verdictForToken({ config, route: 'crm', token });
 * if (!verdict.accepted) process.exitCode = 1;
 * ```
 */
export async function verdictForToken(options: TokenVerdictOptions): Promise<TokenVerdict> {
  const { config, token } = options;
  const route = config.routes.find((r) => r.name === options.route);
  if (!route)
    throw new UnknownRouteError(
      options.route,
      config.routes.map((r) => r.name),
    );
  const now = options.now ?? Date.now;
  const verifier = createAccessTokenVerifier({
    issuers: config.issuers.map((issuer) => ({
      ...trustedIssuer(issuer),
      fetchTimeoutMs: options.timeoutMs ?? 5_000,
    })),
    now,
  });
  try {
    await verifier.start();
    const rs = routeResourceServer(config, route, {
      verifier,
      audit: new InMemoryAuditSink(),
      fingerprintKey: randomBytes(32),
      auditMode: 'best-effort',
    });
    const resource = resourceUrl(config, route);
    const { form, decoded } = describeForm(token);
    let principal: Principal | undefined;
    let verification: TokenVerdict['verification'];
    try {
      principal = await verifier.verify(token, {
        resource,
        ...(route.audiences ? { audiences: route.audiences } : {}),
        ...(route.issuers ? { issuers: route.issuers } : {}),
      });
      verification = {
        ok: true,
        detail: `the token is valid (subject ${principal.subject}, client ${principal.clientId})`,
      };
    } catch (error) {
      const reason = error instanceof McpIamError ? String(error.code) : 'internal_error';
      const detail = error instanceof Error ? error.message : String(error);
      verification = { ok: false, reason, detail: `${reason}: ${detail}` };
    }
    const claimsSource = decoded.kind === 'jwt' ? decoded.claims : principal?.claims;
    const claims = claimsSource
      ? compareClaims({
          config,
          route,
          claims: claimsSource,
          ...(decoded.kind === 'jwt' ? { header: decoded.header } : {}),
          nowSec: now() / 1000,
        })
      : [];
    const operations: OperationVerdict[] = [];
    for (const plan of plannedOperations(route)) {
      const decision = await rs.authorize({
        method: 'POST',
        url: route.path,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify(plan.rpc),
      });
      operations.push(
        decision.kind === 'allow'
          ? { label: plan.label, allowed: true, reason: 'allowed', detail: '' }
          : {
              label: plan.label,
              allowed: false,
              reason: decision.reason,
              status: decision.status,
              detail: principal ? needs(plan, principal, rs) : '',
            },
      );
    }
    return {
      route: route.name,
      resource,
      accepted: verification.ok && operations.some((o) => o.allowed),
      form,
      claims,
      verification,
      operations,
    };
  } finally {
    verifier.close();
  }
}

const LABELS = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

/** The verdict as text: one line per claim, the verification, one line per operation, a summary. */
export function formatTokenVerdict(verdict: TokenVerdict): string {
  const lines = [
    `token: ${verdict.form}, for route ${verdict.route} (resource ${verdict.resource})`,
    ...verdict.claims.map((c) => `${LABELS[c.level]}  ${c.claim}: ${c.detail}`),
    verdict.verification.ok
      ? `ok    verification: ${verdict.verification.detail}`
      : `FAIL  verification: the gateway answers 401 (${verdict.verification.detail})`,
  ];
  if (verdict.verification.ok) {
    for (const op of verdict.operations) {
      lines.push(
        op.allowed
          ? `ok    ${op.label}: allowed`
          : `FAIL  ${op.label}: ${op.status ?? ''} ${op.reason}${op.detail ? `: ${op.detail}` : ''}`,
      );
    }
  }
  const allowed = verdict.operations.filter((o) => o.allowed).map((o) => o.label);
  if (verdict.accepted) {
    lines.push(
      allowed.length === verdict.operations.length
        ? `route ${verdict.route} accepts this token for every operation its policy lists`
        : `route ${verdict.route} accepts this token for ${allowed.length} of ` +
            `${verdict.operations.length} operations: ${allowed.join(', ')}`,
    );
  } else {
    lines.push(
      verdict.verification.ok
        ? `route ${verdict.route} refuses this token: its policy allows it no operation`
        : `route ${verdict.route} refuses this token (${verdict.verification.reason})`,
    );
  }
  return `${lines.join('\n')}\n`;
}
