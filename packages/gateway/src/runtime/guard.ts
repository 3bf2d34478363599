/**
 * Connects the gateway's route seam to @mcp-iam/core: each route gets a core `ResourceServer`
 * (bearer → issuer → token → principal → operation → policy → audit) and, for downstream mode
 * `token-exchange`, an RFC 8693 exchange at the IdP for a token meant only for the upstream.
 * The caller's token is used only as the exchange's `subject_token`; it is never forwarded.
 */
import { randomBytes } from 'node:crypto';
import {
  createResourceServer,
  filterList,
  type AccessTokenVerifier,
  type AuditSink,
  type ResourceServer,
  type TokenExchangeClient,
} from '@mcp-iam/core';
import {
  resolveLimits,
  resourceUrl,
  type GatewayConfig,
  type RequirementConfig,
  type RouteConfig,
} from '../config/index.js';
import type { GuardAllow, GuardDecision, GuardRequest, RouteGuard } from '../server/seam.js';

/** What every route guard shares: one verifier, one audit sink, one exchange client. */
export interface GuardContext {
  readonly verifier: AccessTokenVerifier;
  readonly audit: AuditSink;
  /** Secret key of token fingerprints in audit records. */
  readonly fingerprintKey: string | Buffer;
  /** `strict`: a record that cannot be written turns the answer into 503. */
  readonly auditMode: 'strict' | 'best-effort';
  /** The gateway's own client at the IdP; required by routes in `token-exchange` mode. */
  readonly exchange?: TokenExchangeClient;
  /** Told about audit write failures (logged by the caller; never contains a token). */
  readonly onAuditError?: (error: unknown) => void;
}

/** Scopes a route advertises in its metadata and 401 challenges: every scope its policy names. */
export function routeScopes(route: RouteConfig): string[] {
  const scopes = new Set<string>();
  const policy = route.policy;
  for (const group of [policy?.methods, policy?.tools, policy?.resources, policy?.prompts]) {
    for (const requirement of Object.values(group ?? {})) {
      for (const scope of requirement.scopes ?? []) scopes.add(scope);
    }
  }
  return [...scopes].filter((scope) => scope !== 'offline_access').sort();
}

/** Translates the YAML policy (snake_case) into core's policy document. */
function corePolicy(route: RouteConfig): Record<string, unknown> {
  const policy = route.policy ?? {};
  const convert = (group: Record<string, RequirementConfig> | undefined) => {
    if (!group) return undefined;
    const out: Record<string, Record<string, unknown>> = {};
    for (const [name, requirement] of Object.entries(group)) {
      const { max_delegation_depth: depth, ...rest } = requirement;
      out[name] = depth === undefined ? rest : { ...rest, maxDelegationDepth: depth };
    }
    return out;
  };
  return {
    ...(policy.default !== undefined ? { default: policy.default } : {}),
    ...(policy.scope_hierarchy ? { scopeHierarchy: policy.scope_hierarchy } : {}),
    ...(policy.methods ? { methods: convert(policy.methods) } : {}),
    ...(policy.tools ? { tools: convert(policy.tools) } : {}),
    ...(policy.resources ? { resources: convert(policy.resources) } : {}),
    ...(policy.prompts ? { prompts: convert(policy.prompts) } : {}),
  };
}

/** Builds the `ResourceServer` of one route. Exported for `mcp-iam check`. */
export function routeResourceServer(
  config: GatewayConfig,
  route: RouteConfig,
  context: GuardContext,
): ResourceServer {
  const limits = resolveLimits(config, route);
  const issuers = route.issuers ?? config.issuers.map((issuer) => issuer.issuer);
  return createResourceServer({
    resource: resourceUrl(config, route),
    authorizationServers: issuers,
    scopesSupported: routeScopes(route),
    verifier: context.verifier,
    policy: corePolicy(route),
    ...(route.issuers ? { issuers: route.issuers } : {}),
    ...(route.audiences ? { audiences: route.audiences } : {}),
    // Host and Origin are already enforced by the gateway before the guard runs.
    allowedOrigins: config.allowed_origins ?? [new URL(config.public_url).origin],
    metadataAtRoot: false,
    resourceName: route.name,
    maxTokenLength: limits.maxTokenBytes,
    maxBodyBytes: limits.maxBodyBytes,
    audit: {
      sink: context.audit,
      fingerprintKey: context.fingerprintKey,
      route: route.name,
      mode: context.auditMode,
      ...(context.onAuditError ? { onError: context.onAuditError } : {}),
    },
  });
}

/**
 * Returns the gateway's guard factory: one core `ResourceServer` per route.
 *
 * @example
 * ```ts
 * const gateway = new Gateway({ config, guards: createGuardFactory(context) });
 * ```
 */
export function createGuardFactory(
  context: GuardContext,
): (route: RouteConfig, config: GatewayConfig) => RouteGuard {
  return (route, config) => {
    const rs = routeResourceServer(config, route, context);
    const downstream = route.downstream ?? { mode: 'none' as const };
    if (downstream.mode === 'token-exchange' && !context.exchange) {
      throw new Error(
        `route ${route.name}: downstream mode token-exchange needs the gateway's own client (key "client")`,
      );
    }
    const audience = downstream.audience ?? route.upstream.url;
    return {
      metadata: () => rs.metadata,
      async authorize(request: GuardRequest): Promise<GuardDecision> {
        const decision = await rs.authorize({
          method: request.method,
          url: request.query ? `${request.path}?${request.query}` : request.path,
          headers: request.headersDistinct,
          ...(request.body ? { body: request.body } : {}),
          requestId: request.requestId,
        });
        if (decision.kind === 'deny') {
          return {
            kind: 'deny',
            status: decision.status,
            headers: decision.headers,
            body: decision.body,
            reason: decision.reason,
          };
        }
        const { principal, operation } = decision;
        const allow: GuardAllow = {
          kind: 'allow',
          principal,
          operation: {
            method: operation.method,
            ...(operation.tool !== undefined ? { tool: operation.tool } : {}),
            ...(operation.resource !== undefined ? { resource: operation.resource } : {}),
            ...(operation.prompt !== undefined ? { prompt: operation.prompt } : {}),
          },
          async upstreamToken() {
            if (downstream.mode !== 'token-exchange' || !context.exchange) return undefined;
            if (!audience) {
              throw new Error(`route ${route.name}: token-exchange needs downstream.audience`);
            }
            const exchanged = await context.exchange.exchange({
              subjectToken: decision.token,
              resource: audience,
              ...(downstream.scope ? { scope: downstream.scope } : {}),
            });
            return exchanged.accessToken;
          },
          filterList: (_method, result) =>
            result !== null && typeof result === 'object' && !Array.isArray(result)
              ? filterList(result as Record<string, unknown>, principal, rs.policy)
              : result,
          async complete(outcome) {
            await rs.complete(decision, {
              status: outcome.status,
              ...(outcome.upstreamStatus !== undefined
                ? { upstreamStatus: outcome.upstreamStatus }
                : {}),
              ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}),
            });
          },
        };
        return allow;
      },
    };
  };
}

/** A random fingerprint key for deployments that did not configure one (records then correlate per process only). */
export function randomFingerprintKey(): Buffer {
  return randomBytes(32);
}
