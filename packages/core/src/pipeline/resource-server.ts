/**
 * The framework-neutral request pipeline of a protected MCP endpoint: origin → bearer → token →
 * operation → policy → audit. Given a request's method, URL, headers and body it returns either
 * "allow" (principal, operation, audit draft) or a ready-made denial that has already been
 * audited. Adapters (Express, node:http, fetch) and the gateway are thin layers over it.
 */
import { randomUUID } from 'node:crypto';
import {
  extractBearerToken,
  headerValues,
  type BearerOptions,
  type HeaderRecord,
} from '../bearer/bearer.js';
import {
  InvalidRequestError,
  InvalidTokenError,
  McpIamError,
  UnavailableError,
  type ReasonCode,
} from '../errors.js';
import {
  forbiddenAnswer,
  insufficientScopeAnswer,
  internalErrorAnswer,
  invalidRequestAnswer,
  invalidTokenAnswer,
  jsonRpcErrorAnswer,
  missingTokenAnswer,
  stepUpAnswer,
  unavailableAnswer,
  type ChallengeContext,
  type HttpAnswer,
} from '../http/answers.js';
import {
  METADATA_WELL_KNOWN,
  metadataAnswer,
  metadataPath,
  metadataUrl,
  protectedResourceMetadata,
  type ProtectedResourceMetadata,
} from '../http/metadata.js';
import { isOriginAllowed, normalizeOrigin } from '../http/origin.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  OperationError,
  readMcpOperation,
  type McpOperation,
  type OperationOptions,
} from '../mcp/operation.js';
import { decide, validatePolicy, type Policy } from '../policy/policy.js';
import type { Principal } from '../principal/principal.js';
import { isTokenBound } from '../principal/token-bound.js';
import { verifyMaybeSync } from '../token/access-token-verifier.js';
import type { AccessTokenVerifier, VerifyContext } from '../token/verifier.js';
import { buildAuditRecord, type AuditInput } from '../audit/build.js';
import {
  tokenFingerprint,
  type AuditOutcome,
  type AuditRecord,
  type AuditSink,
} from '../audit/record.js';

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
}

/** One incoming request, framework-neutral. */
export interface ResourceRequest {
  /** HTTP method. */
  readonly method: string;
  /** Request target (`/mcp?x=1`) or absolute URL; only its query is read. */
  readonly url: string;
  /** Headers; pass every value of repeated headers (Node: `req.headersDistinct`). */
  readonly headers: HeaderRecord;
  /** Raw body bytes or text (POST). */
  readonly body?: Uint8Array | string;
  /** Already parsed JSON body, when a framework parsed it (used when `body` is absent). */
  readonly json?: unknown;
  /**
   * Request id for the audit record. Default: a valid `X-Request-Id`, else the trace id of
   * `traceparent`, else a fresh UUID.
   */
  readonly requestId?: string;
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

  readonly #options: ResourceServerOptions;
  readonly #challenge: ChallengeContext;
  readonly #allowedOrigins: readonly string[];
  readonly #completed = new WeakSet<AllowResult>();
  readonly #now: () => number;
  // Per-request constants, built once rather than on every `authorize`.
  readonly #verifyContext: VerifyContext;
  readonly #operationOptions: OperationOptions;
  readonly #bearerOptions: BearerOptions;
  // Audit fingerprints of token-bound principals (see isTokenBound): one HMAC per cached
  // verification instead of one per request. Weak, so entries go with the verifier's cache.
  readonly #fingerprints = new WeakMap<Principal, string>();

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
    this.#challenge = {
      resourceMetadataUrl: this.resourceMetadataUrl,
      defaultScopes: options.scopesSupported ?? [],
    };
    this.#allowedOrigins = options.allowedOrigins ?? [
      normalizeOrigin(new URL(options.resource).origin)!,
    ];
    this.#verifyContext = Object.freeze({
      resource: options.resource,
      ...(options.audiences ? { audiences: options.audiences } : {}),
      ...(options.issuers ? { issuers: options.issuers } : {}),
    });
    this.#operationOptions = Object.freeze({
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
      ...(options.maxJsonDepth !== undefined ? { maxDepth: options.maxJsonDepth } : {}),
    });
    this.#bearerOptions = Object.freeze(
      options.maxTokenLength !== undefined ? { maxTokenLength: options.maxTokenLength } : {},
    );
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
   * Authenticates and authorizes one request. A denial is audited before it is returned; an
   * allow must be finished with `complete` (which writes its record) before the answer is sent.
   * Never throws for request content; rejects only on programming errors.
   */
  async authorize(request: ResourceRequest): Promise<AllowResult | DenyResult> {
    const startedAt = this.#now();
    const headers = request.headers;
    const requestId = request.requestId ?? requestIdOf(headers);
    const o = this.#options;
    // The allow path builds no intermediate drafts: audit drafts are made only to deny (and by
    // methods, not closures, which would move these locals into a context object per request).

    if (o.allowedHosts) {
      const hosts = headerValues(headers, 'host');
      if (hosts.length !== 1 || !o.allowedHosts.includes(hosts[0]!.toLowerCase())) {
        return this.#deny(
          forbiddenAnswer('host_forbidden'),
          'host_forbidden',
          this.#base(startedAt, requestId),
        );
      }
    }
    if (!isOriginAllowed(headers, this.#allowedOrigins)) {
      return this.#deny(
        forbiddenAnswer('origin_forbidden'),
        'origin_forbidden',
        this.#base(startedAt, requestId),
      );
    }

    const body = request.body;
    // Read once for the operation (JSON body) and the form check (token in a form body).
    const contentType = body === undefined ? undefined : headerValues(headers, 'content-type')[0];
    let operation: McpOperation | undefined;
    let operationError: OperationError | undefined;
    try {
      operation = readMcpOperation(
        { httpMethod: request.method, headers, body, json: request.json },
        this.#operationOptions,
        contentType,
      );
    } catch (error) {
      if (!(error instanceof OperationError)) throw error;
      operationError = error;
    }
    let token: string;
    try {
      const bearer = extractBearerToken(
        {
          headers,
          query: queryOf(request.url),
          form: body === undefined ? undefined : formOf(body, contentType),
        },
        this.#bearerOptions,
      );
      if (bearer.kind === 'absent') {
        return this.#deny(
          missingTokenAnswer(this.#challenge),
          'missing_token',
          this.#withOp(startedAt, requestId, request.method, operation, operationError),
        );
      }
      token = bearer.token;
    } catch (error) {
      if (error instanceof InvalidRequestError) {
        return this.#deny(
          invalidRequestAnswer(this.#challenge),
          error.code,
          this.#withOp(startedAt, requestId, request.method, operation, operationError),
        );
      }
      if (error instanceof InvalidTokenError) {
        return this.#deny(
          invalidTokenAnswer(this.#challenge, error.code),
          error.code,
          this.#withOp(startedAt, requestId, request.method, operation, operationError),
        );
      }
      throw error;
    }
    let principal: Principal;
    try {
      // A cache hit of the built-in verifier comes back synchronously: no promise, no microtask.
      const verified = verifyMaybeSync(o.verifier, token, this.#verifyContext);
      principal = verified instanceof Promise ? await verified : verified;
    } catch (error) {
      const withToken = {
        ...this.#withOp(startedAt, requestId, request.method, operation, operationError),
        token,
      };
      if (error instanceof UnavailableError) {
        return this.#deny(
          unavailableAnswer(error.code, error.retryAfter),
          error.code,
          withToken,
          'error',
        );
      }
      if (error instanceof InvalidTokenError || error instanceof McpIamError) {
        return this.#deny(invalidTokenAnswer(this.#challenge, error.code), error.code, withToken);
      }
      return this.#deny(internalErrorAnswer(), 'internal_error', withToken, 'error');
    }
    if (operationError || !operation) {
      const e = operationError!;
      return this.#deny(jsonRpcErrorAnswer(e.status, e.rpcCode, e.code), e.code, {
        ...this.#withOp(startedAt, requestId, request.method, operation, operationError),
        token,
        principal,
      });
    }

    const decision = decide(operation, principal, this.policy, {
      now: Math.floor(this.#now() / 1000),
    });
    if (decision.kind === 'allow') {
      // The draft's members in the order they always had, added one by one (no spreads).
      const audit: Mutable<AuditInput> = { startedAt, requestId } as Mutable<AuditInput>;
      if (o.audit?.route !== undefined) audit.route = o.audit.route;
      audit.operation = operation;
      audit.principal = principal;
      audit.scopesRequired = decision.requiredScopes;
      if (o.audit) {
        audit.tokenFingerprint = this.#fingerprint(token, principal, o.audit.fingerprintKey);
      }
      audit.outcome = 'allow';
      audit.reason = 'allowed';
      return {
        kind: 'allow',
        principal,
        operation,
        requiredScopes: decision.requiredScopes,
        token,
        requestId,
        audit: Object.freeze(audit),
      };
    }
    const withScopes = {
      ...this.#withOp(startedAt, requestId, request.method, operation, operationError),
      token,
      principal,
      scopesRequired: decision.requiredScopes,
    };
    switch (decision.kind) {
      case 'insufficient_scope':
        return this.#deny(
          insufficientScopeAnswer(this.#challenge, decision.requiredScopes),
          'insufficient_scope',
          withScopes,
        );
      case 'insufficient_user_authentication':
        return this.#deny(
          stepUpAnswer(this.#challenge, {
            ...(decision.acrValues ? { acrValues: decision.acrValues } : {}),
            ...(decision.maxAge !== undefined ? { maxAge: decision.maxAge } : {}),
          }),
          'insufficient_user_authentication',
          withScopes,
        );
      case 'forbidden':
        return this.#deny(forbiddenAnswer(decision.reason), decision.reason, withScopes);
    }
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
    try {
      await audit.sink.write(record);
    } catch (error) {
      audit.onError?.(error, record);
      if ((audit.mode ?? 'strict') === 'strict') {
        throw new UnavailableError('audit_unavailable', 'audit record could not be written', {
          cause: error,
        });
      }
    }
    return record;
  }

  #base(startedAt: number, requestId: string): DraftBase {
    const route = this.#options.audit?.route;
    return route !== undefined ? { startedAt, requestId, route } : { startedAt, requestId };
  }

  #withOp(
    startedAt: number,
    requestId: string,
    httpMethod: string,
    operation: McpOperation | undefined,
    operationError: OperationError | undefined,
  ): DraftBase & { operation: NonNullable<AuditInput['operation']> } {
    return {
      ...this.#base(startedAt, requestId),
      operation:
        operation ??
        (operationError?.method !== undefined
          ? { method: operationError.method }
          : { method: httpMethod.toUpperCase() }),
    };
  }

  #fingerprint(token: string, principal: Principal, key: string | Buffer): string {
    if (!isTokenBound(principal)) return tokenFingerprint(token, key);
    let fingerprint = this.#fingerprints.get(principal);
    if (fingerprint === undefined) {
      fingerprint = tokenFingerprint(token, key);
      this.#fingerprints.set(principal, fingerprint);
    }
    return fingerprint;
  }

  /** The 503 answer to send when `complete` rejects (strict audit). */
  auditUnavailableAnswer(): HttpAnswer {
    return unavailableAnswer('audit_unavailable', 5);
  }

  async #deny(
    answer: HttpAnswer,
    reason: ReasonCode,
    input: Omit<AuditInput, 'outcome' | 'reason'>,
    outcome: AuditOutcome = answer.status >= 500 ? 'error' : 'deny',
  ): Promise<DenyResult> {
    const audit = this.#options.audit;
    const result: DenyResult = {
      kind: 'deny',
      ...answer,
      reason,
      requestId: input.requestId ?? '',
    };
    if (!audit) return result;
    const record = buildAuditRecord({
      ...input,
      outcome,
      reason,
      status: answer.status,
      endedAt: this.#now(),
      fingerprintKey: audit.fingerprintKey,
    });
    try {
      await audit.sink.write(record);
    } catch (error) {
      audit.onError?.(error, record);
      if ((audit.mode ?? 'strict') === 'strict') {
        return {
          kind: 'deny',
          ...unavailableAnswer('audit_unavailable', 5),
          reason: 'audit_unavailable',
          requestId: result.requestId,
        };
      }
    }
    return { ...result, record };
  }
}

// Undefined without a query (the common case): nothing to parse, nothing to look into.
function queryOf(url: string): URLSearchParams | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const h = url.indexOf('#', q);
  return new URLSearchParams(url.slice(q + 1, h < 0 ? undefined : h));
}

function formOf(
  body: Uint8Array | string,
  contentType: string | undefined,
): URLSearchParams | undefined {
  if (contentType === undefined || contentType === 'application/json') return undefined;
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  return new URLSearchParams(text);
}

interface DraftBase {
  readonly startedAt: number;
  readonly requestId: string;
  readonly route?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdOf(headers: HeaderRecord): string {
  const given = headerValues(headers, 'x-request-id');
  if (given.length === 1 && REQUEST_ID.test(given[0]!)) return given[0]!;
  const trace = headerValues(headers, 'traceparent')[0];
  const m =
    trace === undefined
      ? null
      : /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(trace);
  if (m) return m[1]!;
  return randomUUID();
}

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
