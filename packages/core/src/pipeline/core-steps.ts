/**
 * The steps of a protected MCP endpoint's pipeline, in their order: `host` (only with an
 * allowlist), `origin`, `operation`, `bearer`, `verify`, `policy`. A sender-constraint step
 * (DPoP, mTLS) belongs right after `verify`. Each step is a class holding its configuration, so a
 * request runs through them without a closure or an options object per request.
 */
import { extractBearerToken, headerValues, type BearerOptions } from '../bearer/bearer.js';
import {
  InvalidRequestError,
  InvalidTokenError,
  isReasonCode,
  McpIamError,
  UnavailableError,
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
} from '../http/answers.js';
import { isOriginAllowed } from '../http/origin.js';
import { OperationError, readMcpOperation, type OperationOptions } from '../mcp/operation.js';
import { decide, type Policy } from '../policy/policy.js';
import type { Principal } from '../principal/principal.js';
import type { AccessTokenVerifier, VerifyContext } from '../token/verifier.js';
import type { PipelineStep, RequestState, StepResult } from './steps.js';

/** `host`: a `Host` outside the allowlist (or more than one) → 403 `host_forbidden`. */
export class HostStep implements PipelineStep {
  readonly name = 'host';
  readonly #allowed: readonly string[];

  /** `allowed`: accepted `Host` values, lower case. */
  constructor(allowed: readonly string[]) {
    this.#allowed = allowed;
  }

  run(state: RequestState): StepResult {
    const hosts = headerValues(state.request.headers, 'host');
    if (hosts.length === 1 && this.#allowed.includes(hosts[0]!.toLowerCase())) return undefined;
    return { answer: forbiddenAnswer('host_forbidden'), reason: 'host_forbidden' };
  }
}

/** `origin`: a present `Origin` outside the allowlist → 403 `origin_forbidden` (DNS rebinding). */
export class OriginStep implements PipelineStep {
  readonly name = 'origin';
  readonly #allowed: readonly string[];

  constructor(allowed: readonly string[]) {
    this.#allowed = allowed;
  }

  run(state: RequestState): StepResult {
    if (isOriginAllowed(state.request.headers, this.#allowed)) return undefined;
    return { answer: forbiddenAnswer('origin_forbidden'), reason: 'origin_forbidden' };
  }
}

/**
 * `operation`: reads the JSON-RPC operation from the body (checked against `Mcp-Method` and
 * `Mcp-Name`). It refuses nothing itself: an unusable body is refused by `policy`, after the token
 * is verified, so a caller without a valid token is told to authenticate first; from here on every
 * record names the operation.
 */
export class OperationStep implements PipelineStep {
  readonly name = 'operation';
  readonly #options: OperationOptions;

  constructor(options: OperationOptions) {
    this.#options = options;
  }

  run(state: RequestState): StepResult {
    const request = state.request;
    const body = request.body;
    // Read once for the operation (JSON body) and the bearer step's form check.
    const contentType =
      body === undefined ? undefined : headerValues(request.headers, 'content-type')[0];
    state.contentType = contentType;
    state.operationRead = true;
    try {
      state.operation = readMcpOperation(
        { httpMethod: request.method, headers: request.headers, body, json: request.json },
        this.#options,
        contentType,
      );
    } catch (error) {
      if (!(error instanceof OperationError)) throw error;
      state.operationError = error;
    }
    return undefined;
  }
}

/**
 * `bearer`: one token, from one `Authorization: Bearer` header (RFC 6750; never the query or a
 * form body) → none is 401 with the challenge, two or a malformed one 400, an oversized one 401.
 */
export class BearerStep implements PipelineStep {
  readonly name = 'bearer';
  readonly #challenge: ChallengeContext;
  readonly #options: BearerOptions;

  constructor(challenge: ChallengeContext, options: BearerOptions) {
    this.#challenge = challenge;
    this.#options = options;
  }

  run(state: RequestState): StepResult {
    const { headers, url, body } = state.request;
    try {
      const bearer = extractBearerToken(
        {
          headers,
          query: queryOf(url),
          form: body === undefined ? undefined : formOf(body, state.contentType),
        },
        this.#options,
      );
      if (bearer.kind === 'absent')
        return { answer: missingTokenAnswer(this.#challenge), reason: 'missing_token' };
      state.token = bearer.token;
      return undefined;
    } catch (error) {
      if (error instanceof InvalidRequestError)
        return { answer: invalidRequestAnswer(this.#challenge), reason: error.code };
      if (error instanceof InvalidTokenError)
        return { answer: invalidTokenAnswer(this.#challenge, error.code), reason: error.code };
      throw error;
    }
  }
}

/**
 * `verify`: the token through the verifier (JWT or introspection) → the principal. A token the
 * verifier holds from before is taken synchronously (`verifyCached`), without a promise.
 */
export class VerifyStep implements PipelineStep {
  readonly name = 'verify';
  readonly #verifier: AccessTokenVerifier;
  readonly #context: VerifyContext;
  readonly #challenge: ChallengeContext;

  constructor(verifier: AccessTokenVerifier, context: VerifyContext, challenge: ChallengeContext) {
    this.#verifier = verifier;
    this.#context = context;
    this.#challenge = challenge;
  }

  run(state: RequestState): StepResult | Promise<StepResult> {
    const token = state.token as string;
    let pending: Promise<Principal>;
    try {
      const cached = this.#verifier.verifyCached?.(token, this.#context);
      if (cached !== undefined) {
        if (typeof (cached as { then?: unknown }).then === 'function')
          throw new TypeError('verifyCached must not return a promise');
        state.principal = cached.principal;
        state.verified = cached;
        return undefined;
      }
      // Adopted into a native promise: a then-able from another realm (or a hand-written
      // PromiseLike) is awaited, never taken for the principal.
      pending = Promise.resolve(this.#verifier.verify(token, this.#context));
    } catch (error) {
      return this.#refusal(error);
    }
    return pending.then(
      (principal) => {
        state.principal = principal;
        return undefined;
      },
      (error: unknown) => this.#refusal(error),
    );
  }

  #refusal(error: unknown): StepResult {
    if (error instanceof UnavailableError)
      return {
        answer: unavailableAnswer(error.code, error.retryAfter),
        reason: error.code,
        outcome: 'error',
      };
    // A verifier's own refusal carries a request reason code; any other error is the server's.
    if (error instanceof McpIamError && isReasonCode(error.code))
      return { answer: invalidTokenAnswer(this.#challenge, error.code), reason: error.code };
    return { answer: internalErrorAnswer(), reason: 'internal_error', outcome: 'error' };
  }
}

/**
 * `policy`: an unusable operation → its JSON-RPC error (400); otherwise the policy's decision for
 * this principal and operation → allow, 403 `insufficient_scope`, 401
 * `insufficient_user_authentication` (RFC 9470 step-up) or 403 `forbidden*`.
 */
export class PolicyStep implements PipelineStep {
  readonly name = 'policy';
  readonly #policy: Policy;
  readonly #challenge: ChallengeContext;
  readonly #now: () => number;

  constructor(policy: Policy, challenge: ChallengeContext, now: () => number) {
    this.#policy = policy;
    this.#challenge = challenge;
    this.#now = now;
  }

  run(state: RequestState): StepResult {
    const operation = state.operation;
    if (state.operationError || !operation) {
      const e = state.operationError!;
      return { answer: jsonRpcErrorAnswer(e.status, e.rpcCode, e.code), reason: e.code };
    }
    const decision = decide(operation, state.principal as Principal, this.#policy, {
      now: Math.floor(this.#now() / 1000),
    });
    state.requiredScopes = decision.requiredScopes;
    switch (decision.kind) {
      case 'allow':
        return undefined;
      case 'insufficient_scope':
        return {
          answer: insufficientScopeAnswer(this.#challenge, decision.requiredScopes),
          reason: 'insufficient_scope',
        };
      case 'insufficient_user_authentication':
        return {
          answer: stepUpAnswer(this.#challenge, {
            ...(decision.acrValues ? { acrValues: decision.acrValues } : {}),
            ...(decision.maxAge !== undefined ? { maxAge: decision.maxAge } : {}),
          }),
          reason: 'insufficient_user_authentication',
        };
      case 'forbidden':
        return { answer: forbiddenAnswer(decision.reason), reason: decision.reason };
    }
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
