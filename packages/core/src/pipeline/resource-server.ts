/**
 * The framework-neutral request pipeline of a protected MCP endpoint: its named steps (see
 * `core-steps.ts`: host, origin, operation, bearer, verify, policy) run in order, then the audit
 * record. Given a request's method, URL, headers and body it returns either "allow" (principal,
 * operation, audit draft) or a ready-made denial that has already been audited. Adapters (Express,
 * node:http, fetch) and the gateway are thin layers over it.
 */
import { randomUUID } from 'node:crypto';
import { UnavailableError, type ReasonCode } from '../errors.js';
import { unavailableAnswer, type ChallengeContext, type HttpAnswer } from '../http/answers.js';
import {
  METADATA_WELL_KNOWN,
  metadataAnswer,
  metadataPath,
  metadataUrl,
  protectedResourceMetadata,
  type ProtectedResourceMetadata,
} from '../http/metadata.js';
import { normalizeOrigin } from '../http/origin.js';
import { DEFAULT_MAX_BODY_BYTES, type McpOperation } from '../mcp/operation.js';
import { validatePolicy, type Policy } from '../policy/policy.js';
import type { Principal } from '../principal/principal.js';
import type { AccessTokenVerifier, VerifyContext } from '../token/verifier.js';
import { buildAuditRecord, type AuditInput } from '../audit/build.js';
import { AuditRecorder } from '../audit/recorder.js';
import {
  tokenFingerprint,
  type AuditOutcome,
  type AuditRecord,
  type AuditSink,
} from '../audit/record.js';
import {
  BearerStep,
  HostStep,
  OperationStep,
  OriginStep,
  PolicyStep,
  VerifyStep,
} from './core-steps.js';
import { RequestState, type PipelineStep, type ResourceRequest } from './steps.js';

export type { ResourceRequest } from './steps.js';

/** Where and how audit records are written. */
export interface ResourceServerAuditOptions {
  readonly sink: AuditSink;
  /** Secret key of the token fingerprint (HMAC-SHA-256). */
  readonly fingerprintKey: string | Buffer;
  /** Route or server name written in each record. */
  readonly route?: string;
  /**
   * `strict` (default): a record that cannot be written turns the answer into 503
   * `audit_unavailable`. `best-effort`: the answer stands and `onError` is told.
   */
  readonly mode?: 'strict' | 'best-effort';
  /** Called when a write fails (both modes). */
  readonly onError?: (error: unknown, record: AuditRecord) => void;
}

/** Options of `createResourceServer`. Only `resource`, `authorizationServers`, `verifier` and `policy` are required. */
export interface ResourceServerOptions {
  /** Canonical resource URL of this MCP endpoint, exactly as clients and tokens name it. */
  readonly resource: string;
  /** Issuer identifiers of the authorization servers, advertised in the metadata. */
  readonly authorizationServers: readonly string[];
  /**
   * Scopes advertised in the metadata and named in 401 challenges without a token. Keep minimal
   * (clients request all of them); never `offline_access`. Default none.
   */
  readonly scopesSupported?: readonly string[];
  /** Verifies tokens (see `createAccessTokenVerifier`). */
  readonly verifier: AccessTokenVerifier;
  /** Per-operation policy (validated with `validatePolicy` when not already). */
  readonly policy: Policy | Record<string, unknown>;
  /** Accept tokens only from these issuers (exact `iss`); default every issuer of the verifier. */
  readonly issuers?: readonly string[];
  /** Accepted token audiences instead of `[resource]`. */
  readonly audiences?: readonly string[];
  /** Audit records: one per request. Default none. */
  readonly audit?: ResourceServerAuditOptions;
  /**
   * Browser origins allowed to call the endpoint; a request with any other `Origin` gets 403
   * `origin_forbidden` before authentication. Requests without `Origin` pass. Default: only the
   * origin of `resource`.
   */
  readonly allowedOrigins?: readonly string[];
  /** When set, a `Host` header outside this list gets 403 `host_forbidden`. Default: not checked. */
  readonly allowedHosts?: readonly string[];
  /** Serve the metadata also at the origin root (one resource per origin). Default true. */
  readonly metadataAtRoot?: boolean;
  /** Metadata `resource_name`. */
  readonly resourceName?: string;
  /** Metadata `resource_documentation`. */
  readonly resourceDocumentation?: string;
  /** Token size cap in characters; larger → 401 `invalid_token` (`token_too_large`). Default 8192. */
  readonly maxTokenLength?: number;
  /** Body size cap in bytes; larger → 413. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** JSON nesting cap; deeper → 400. Default 64. */
  readonly maxJsonDepth?: number;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Edits the pipeline: given the default steps (`host` when `allowedHosts` is set, `origin`,
   * `operation`, `bearer`, `verify`, `policy`), returns the steps to run, e.g. with a step inserted
   * after `verify` (`insertStepAfter`) or without one its caller already runs (`withoutSteps`).
   * `bearer`, `verify` and `policy` must remain. Default: the default steps.
   */
  readonly steps?: (defaults: readonly PipelineStep[]) => readonly PipelineStep[];
}

/** The request may proceed. Complete it with `ResourceServer.complete` before answering. */
export interface AllowResult {
  readonly kind: 'allow';
  readonly principal: Principal;
  readonly operation: McpOperation;
  /** Scopes the operation needs (after hierarchy). */
  readonly requiredScopes: readonly string[];
  /** The verified access token (for token exchange only: never forward or log it). */
  readonly token: string;
  readonly requestId: string;
  /** Audit draft: the record `complete` will write, minus status and timing (no raw token). */
  readonly audit: Readonly<AuditInput>;
}

/** The request is refused; send `status`, `headers` and `body` as they are. Already audited. */
export interface DenyResult extends HttpAnswer {
  readonly kind: 'deny';
  readonly reason: ReasonCode;
  readonly requestId: string;
  /** The record written for this denial (when auditing is configured). */
  readonly record?: AuditRecord;
}

/** How the caller completes an allowed request. */
export interface CompleteOptions {
  /** HTTP status sent to the client. */
  readonly status?: number;
  /** HTTP status from the upstream, when one was called. */
  readonly upstreamStatus?: number;
  /** Default `allow`, or `error` when a `reason` other than `allowed` is given. */
  readonly outcome?: AuditOutcome;
  /** Default `allowed`; e.g. `upstream_unavailable` when the upstream failed after the allow. */
  readonly reason?: ReasonCode;
  readonly detail?: string;
}

/** A protected MCP endpoint's request pipeline. Create with `createResourceServer`. */
export class ResourceServer {
  /** Canonical resource URL. */
  readonly resource: string;
  /** Absolute metadata URL named in every challenge. */
  readonly resourceMetadataUrl: string;
  /** The RFC 9728 document. */
  readonly metadata: ProtectedResourceMetadata;
  /** Paths (no origin) the metadata is served at. */
  readonly metadataPaths: readonly string[];
  /** The validated policy. */
  readonly policy: Policy;
  /** Names of the pipeline's steps, in the order they run (e.g. for a start-up log line). */
  readonly steps: readonly string[];

  readonly #options: ResourceServerOptions;
  readonly #now: () => number;
  readonly #steps: readonly PipelineStep[];
  readonly #completed = new WeakSet<AllowResult>();
  readonly #recorder: AuditRecorder | undefined;

  constructor(options: ResourceServerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.metadata = protectedResourceMetadata({
      resource: options.resource,
      authorizationServers: options.authorizationServers,
      ...(options.scopesSupported ? { scopesSupported: options.scopesSupported } : {}),
      ...(options.resourceName !== undefined ? { resourceName: options.resourceName } : {}),
      ...(options.resourceDocumentation !== undefined
        ? { resourceDocumentation: options.resourceDocumentation }
        : {}),
    });
    this.resource = options.resource;
    this.resourceMetadataUrl = metadataUrl(options.resource);
    const paths = [metadataPath(options.resource)];
    if ((options.metadataAtRoot ?? true) && !paths.includes(METADATA_WELL_KNOWN))
      paths.push(METADATA_WELL_KNOWN);
    this.metadataPaths = Object.freeze(paths);
    this.policy = validatePolicy(options.policy);
    const challenge: ChallengeContext = {
      resourceMetadataUrl: this.resourceMetadataUrl,
      defaultScopes: options.scopesSupported ?? [],
    };
    const verifyContext: VerifyContext = Object.freeze({
      resource: options.resource,
      ...(options.audiences ? { audiences: options.audiences } : {}),
      ...(options.issuers ? { issuers: options.issuers } : {}),
    });
    const defaults: PipelineStep[] = [];
    if (options.allowedHosts)
      defaults.push(new HostStep(options.allowedHosts.map((h) => h.toLowerCase())));
    defaults.push(
      new OriginStep(
        options.allowedOrigins ?? [normalizeOrigin(new URL(options.resource).origin)!],
      ),
      new OperationStep(
        Object.freeze({
          ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
          ...(options.maxJsonDepth !== undefined ? { maxDepth: options.maxJsonDepth } : {}),
        }),
      ),
      new BearerStep(
        challenge,
        Object.freeze(
          options.maxTokenLength !== undefined ? { maxTokenLength: options.maxTokenLength } : {},
        ),
      ),
      new VerifyStep(options.verifier, verifyContext, challenge),
      new PolicyStep(this.policy, challenge, this.#now),
    );
    const steps = options.steps ? options.steps(defaults) : defaults;
    for (const required of ['bearer', 'verify', 'policy']) {
      if (!steps.some((step) => step.name === required))
        throw new Error(`the pipeline needs its "${required}" step`);
    }
    this.#steps = Object.freeze([...steps]);
    const audit = options.audit;
    this.#recorder = audit
      ? new AuditRecorder({
          sink: audit.sink,
          onFailure: (audit.mode ?? 'strict') === 'strict' ? 'refuse' : 'answer',
          ...(audit.onError ? { onError: audit.onError } : {}),
        })
      : undefined;
    this.steps = Object.freeze(this.#steps.map((step) => step.name));
  }

  /** Body size cap in bytes that adapters apply while reading (default 1 MiB). */
  get maxBodyBytes(): number {
    return this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  /**
   * Answers a metadata request when `path` (no query) is one of `metadataPaths`; otherwise
   * `undefined`. Adapters call it before `authorize`.
   */
  answerMetadata(method: string, path: string): HttpAnswer | undefined {
    return this.metadataPaths.includes(path) ? metadataAnswer(method, this.metadata) : undefined;
  }

  /**
   * Authenticates and authorizes one request: runs `steps` in order. A denial is audited before it
   * is returned; an allow must be finished with `complete` (which writes its record) before the
   * answer is sent. Never throws for request content; rejects only on programming errors.
   */
  async authorize(request: ResourceRequest): Promise<AllowResult | DenyResult> {
    const state = new RequestState(request, this.#now(), request.requestId ?? randomUUID());
    for (const step of this.#steps) {
      let refusal = step.run(state);
      // Only a step that waits (verification on a cache miss) pays for a promise.
      if (refusal instanceof Promise) refusal = await refusal;
      if (refusal !== undefined)
        return this.#deny(refusal.answer, refusal.reason, state, refusal.outcome);
    }
    return this.#allow(state);
  }

  #allow(state: RequestState): AllowResult {
    const o = this.#options;
    const token = state.token as string;
    const principal = state.principal as Principal;
    const requiredScopes = state.requiredScopes as readonly string[];
    // The draft's members in a fixed order, added one by one (no spreads).
    const audit: Mutable<AuditInput> = {
      startedAt: state.startedAt,
      requestId: state.requestId,
    } as Mutable<AuditInput>;
    if (o.audit?.route !== undefined) audit.route = o.audit.route;
    audit.operation = state.operation;
    audit.principal = principal;
    audit.scopesRequired = requiredScopes;
    if (o.audit) {
      const key = o.audit.fingerprintKey;
      audit.tokenFingerprint = state.verified
        ? state.verified.fingerprint(token, key)
        : tokenFingerprint(token, key);
    }
    audit.outcome = 'allow';
    audit.reason = 'allowed';
    return {
      kind: 'allow',
      principal,
      operation: state.operation as McpOperation,
      requiredScopes,
      token,
      requestId: state.requestId,
      audit: Object.freeze(audit),
    };
  }

  /**
   * Writes the audit record of an allowed request, with the status sent (and the upstream's),
   * and the duration. Call exactly once per allow, before sending the answer. With a strict audit
   * sink a failed write rejects with `UnavailableError('audit_unavailable')`: answer 503 then.
   */
  async complete(
    allow: AllowResult,
    options: CompleteOptions = {},
  ): Promise<AuditRecord | undefined> {
    if (this.#completed.has(allow)) throw new Error('complete() called twice for one request');
    this.#completed.add(allow);
    const audit = this.#options.audit;
    if (!audit) return undefined;
    // Absent options stay undefined members: buildAuditRecord skips undefined values, and this
    // avoids a conditional spread per option.
    const record = buildAuditRecord({
      ...allow.audit,
      outcome:
        options.outcome ??
        (options.reason !== undefined && options.reason !== 'allowed' ? 'error' : 'allow'),
      reason: options.reason ?? 'allowed',
      endedAt: this.#now(),
      fingerprintKey: audit.fingerprintKey,
      status: options.status,
      upstreamStatus: options.upstreamStatus,
      detail: options.detail,
    });
    if (!(await (this.#recorder as AuditRecorder).record(record)))
      throw new UnavailableError('audit_unavailable', 'audit record could not be written');
    return record;
  }

  /** The 503 answer to send when `complete` rejects (strict audit). */
  auditUnavailableAnswer(): HttpAnswer {
    return unavailableAnswer('audit_unavailable', 5);
  }

  /** Audits a refusal (its record built from what the steps found) and returns the denial. */
  async #deny(
    answer: HttpAnswer,
    reason: ReasonCode,
    state: RequestState,
    outcome: AuditOutcome = answer.status >= 500 ? 'error' : 'deny',
  ): Promise<DenyResult> {
    const audit = this.#options.audit;
    const result: DenyResult = { kind: 'deny', ...answer, reason, requestId: state.requestId };
    if (!audit) return result;
    const input: Mutable<Omit<AuditInput, 'outcome' | 'reason'>> = {
      startedAt: state.startedAt,
      requestId: state.requestId,
    };
    if (audit.route !== undefined) input.route = audit.route;
    if (state.operationRead)
      input.operation =
        state.operation ??
        (state.operationError?.method !== undefined
          ? { method: state.operationError.method }
          : { method: state.request.method.toUpperCase() });
    if (state.token !== undefined) input.token = state.token;
    if (state.principal !== undefined) input.principal = state.principal;
    if (state.requiredScopes !== undefined) input.scopesRequired = state.requiredScopes;
    const record = buildAuditRecord({
      ...input,
      outcome,
      reason,
      status: answer.status,
      endedAt: this.#now(),
      fingerprintKey: audit.fingerprintKey,
    });
    if (!(await (this.#recorder as AuditRecorder).record(record)))
      return {
        kind: 'deny',
        ...unavailableAnswer('audit_unavailable', 5),
        reason: 'audit_unavailable',
        requestId: result.requestId,
      };
    return { ...result, record };
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Creates the request pipeline of one protected MCP endpoint.
 *
 * @example
 * ```ts
 * const rs = createResourceServer({
 *   resource: 'https://mcp.example.com/mcp',
 *   authorizationServers: ['https://idp.example.com'],
 *   scopesSupported: ['crm.read'],
 *   verifier,
 *   policy: { default: 'deny', methods: { initialize: {} }, tools: { search: { scopes: ['crm.read'] } } },
 * });
 * const result = await rs.authorize({ method, url, headers, body });
 * ```
 */
export function createResourceServer(options: ResourceServerOptions): ResourceServer {
  return new ResourceServer(options);
}
