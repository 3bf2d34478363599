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
  insertStepAfter,
  insufficientScopeAnswer,
  metadataUrl,
  principalKey,
  withoutSteps,
  type AccessTokenVerifier,
  type ChallengeContext,
  type PipelineStep,
  type RequestState,
  type StepResult,
  type AllowResult,
  type AuditSink,
  type CompleteOptions,
  type Principal,
  type ResourceRequest,
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
import type {
  GuardAllow,
  GuardDecision,
  GuardOperation,
  GuardOutcome,
  GuardRequest,
  RouteGuard,
} from '../server/seam.js';

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

/**
 * A route's core steps: core's defaults without `origin` (the gateway checks Host and Origin itself
 * before routing), and for a token-exchange route that names its downstream scopes, a
 * `downstream-scope` step after `policy`.
 */
function routeSteps(
  config: GatewayConfig,
  route: RouteConfig,
  defaults: readonly PipelineStep[],
): PipelineStep[] {
  const steps = withoutSteps(defaults, ['origin']);
  const downstream = route.downstream;
  const scopes = downstream?.scope?.split(' ').filter((scope) => scope.length > 0) ?? [];
  if (downstream?.mode !== 'token-exchange' || scopes.length === 0) return steps;
  const challenge: ChallengeContext = {
    resourceMetadataUrl: metadataUrl(resourceUrl(config, route)),
    defaultScopes: routeScopes(route),
  };
  return insertStepAfter(steps, 'policy', new DownstreamScopeStep(scopes, challenge));
}

/**
 * `downstream-scope`: an exchange narrows scopes (the IdP grants only requested scopes the
 * caller's token holds), so a token holding none of the route's downstream scopes can only be
 * refused by the IdP. It is answered 403 `insufficient_scope` naming the downstream scopes, before
 * any exchange: the caller's token is the problem, and a client can ask for those scopes.
 */
class DownstreamScopeStep implements PipelineStep {
  readonly name = 'downstream-scope';
  readonly #scopes: readonly string[];
  readonly #challenge: ChallengeContext;

  constructor(scopes: readonly string[], challenge: ChallengeContext) {
    this.#scopes = scopes;
    this.#challenge = challenge;
  }

  run(state: RequestState): StepResult {
    const granted = state.principal?.scopes ?? [];
    if (this.#scopes.some((scope) => granted.includes(scope))) return undefined;
    state.requiredScopes = this.#scopes;
    return {
      answer: insufficientScopeAnswer(this.#challenge, this.#scopes),
      reason: 'insufficient_scope',
    };
  }
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
    steps: (defaults) => routeSteps(config, route, defaults),
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
    const exchanging = downstream.mode === 'token-exchange' && context.exchange !== undefined;
    // `reachable`: what the caller could call after a step-up or with more scopes stays listed, so
    // a client reaches the challenge that tells it how (RFC 9470, incremental scope consent).
    const listOptions = { includeStepUp: route.list_filter !== 'strict' };
    const filter = (_method: string, result: unknown, principal: Principal): unknown =>
      result !== null && typeof result === 'object' && !Array.isArray(result)
        ? filterList(result as Record<string, unknown>, principal, rs.policy, listOptions)
        : result;
    return {
      metadata: () => rs.metadata,
      steps: rs.steps,
      async authorize(request: GuardRequest): Promise<GuardDecision> {
        const input: { -readonly [K in keyof ResourceRequest]: ResourceRequest[K] } = {
          method: request.method,
          url: request.query ? `${request.path}?${request.query}` : request.path,
          // Every value of every header; `headers` has them all when no name is repeated.
          headers: request.headersRepeated === false ? request.headers : request.headersDistinct,
          requestId: request.requestId,
        };
        if (request.body) input.body = request.body;
        const decision = await rs.authorize(input);
        if (decision.kind === 'deny') {
          return {
            kind: 'deny',
            status: decision.status,
            headers: decision.headers,
            body: decision.body,
            reason: decision.reason,
          };
        }
        return new CoreAllow(decision, rs, filter, exchanging ? upstreamToken : undefined);
      },
    };

    /** The token for the upstream, from an RFC 8693 exchange of the caller's token. */
    async function upstreamToken(decision: AllowResult): Promise<string> {
      if (!audience) {
        throw new Error(`route ${route.name}: token-exchange needs downstream.audience`);
      }
      const exchanged = await (context.exchange as TokenExchangeClient).exchange({
        subjectToken: decision.token,
        principalKey: principalKey(decision.principal),
        resource: audience,
        ...(downstream.scope ? { scope: downstream.scope } : {}),
      });
      return exchanged.accessToken;
    }
  };
}

const NO_UPSTREAM_TOKEN: Promise<undefined> = Promise.resolve(undefined);

/** An allowed request of a core `ResourceServer`, as the gateway's seam sees it. */
class CoreAllow implements GuardAllow {
  readonly kind = 'allow' as const;
  readonly principal: Principal;
  readonly operation: GuardOperation;
  readonly #decision: AllowResult;
  readonly #rs: ResourceServer;
  readonly #filter: (method: string, result: unknown, principal: Principal) => unknown;
  readonly #exchange: ((decision: AllowResult) => Promise<string>) | undefined;

  constructor(
    decision: AllowResult,
    rs: ResourceServer,
    filter: (method: string, result: unknown, principal: Principal) => unknown,
    exchange: ((decision: AllowResult) => Promise<string>) | undefined,
  ) {
    this.#decision = decision;
    this.#rs = rs;
    this.#filter = filter;
    this.#exchange = exchange;
    this.principal = decision.principal;
    const { method, tool, resource, prompt } = decision.operation;
    const operation: { -readonly [K in keyof GuardOperation]: GuardOperation[K] } = { method };
    if (tool !== undefined) operation.tool = tool;
    if (resource !== undefined) operation.resource = resource;
    if (prompt !== undefined) operation.prompt = prompt;
    this.operation = operation;
  }

  upstreamToken(): Promise<string | undefined> {
    return this.#exchange ? this.#exchange(this.#decision) : NO_UPSTREAM_TOKEN;
  }

  readonly filterList = (method: string, result: unknown): unknown =>
    this.#filter(method, result, this.principal);

  async complete(outcome: GuardOutcome): Promise<void> {
    const options: { -readonly [K in keyof CompleteOptions]: CompleteOptions[K] } = {
      status: outcome.status,
    };
    if (outcome.upstreamStatus !== undefined) options.upstreamStatus = outcome.upstreamStatus;
    if (outcome.reason !== undefined) options.reason = outcome.reason;
    if (outcome.outcome !== undefined) options.outcome = outcome.outcome;
    await this.#rs.complete(this.#decision, options);
  }
}

/** A random fingerprint key for deployments that did not configure one (records then correlate per process only). */
export function randomFingerprintKey(): Buffer {
  return randomBytes(32);
}
