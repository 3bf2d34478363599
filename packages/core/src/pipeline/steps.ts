/**
 * The request path as data: an ordered list of named steps, each of which looks at the request
 * state and either lets the request continue or refuses it. `ResourceServer.authorize` runs its
 * list; the gateway and the adapters compose lists from the same steps. A reader sees a
 * pipeline's steps by name (`ResourceServer.steps`), and a new step goes in by name (after
 * `verify`, for a sender-constraint check).
 */
import type { ReasonCode } from '../errors.js';
import type { HttpAnswer } from '../http/answers.js';
import type { McpOperation, OperationError } from '../mcp/operation.js';
import type { Principal } from '../principal/principal.js';
import type { AuditOutcome } from '../audit/record.js';
import type { HeaderRecord } from '../bearer/bearer.js';
import type { VerifiedToken } from '../token/verifier.js';

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
   * Request id for the audit record, chosen by the caller's own code. Default: a fresh UUID.
   * Never a client's `X-Request-Id` or `traceparent` (row 85: a client could give two callers'
   * records one id).
   */
  readonly requestId?: string;
}

/**
 * One request on its way through a pipeline. Steps read what earlier steps set and set their own
 * part; a field a step has not reached yet is undefined.
 */
export class RequestState {
  readonly request: ResourceRequest;
  /** Epoch ms the request arrived. */
  readonly startedAt: number;
  readonly requestId: string;
  /** `Content-Type` of a request with a body (operation step). */
  contentType: string | undefined = undefined;
  /** True once the operation step ran: refusals from then on name the operation in the record. */
  operationRead = false;
  /** The JSON-RPC operation (operation step). */
  operation: McpOperation | undefined = undefined;
  /** Why the body is not a usable operation; refused after the token is verified (policy step). */
  operationError: OperationError | undefined = undefined;
  /** The bearer token (bearer step); never forwarded or logged. */
  token: string | undefined = undefined;
  /** The verified caller (verify step). */
  principal: Principal | undefined = undefined;
  /** The verifier's cached verification, when the token was verified before (verify step). */
  verified: VerifiedToken | undefined = undefined;
  /** Scopes the operation needs (policy step). */
  requiredScopes: readonly string[] | undefined = undefined;

  constructor(request: ResourceRequest, startedAt: number, requestId: string) {
    this.request = request;
    this.startedAt = startedAt;
    this.requestId = requestId;
  }
}

/** A step's refusal: the answer to send and the reason code (and outcome) of its audit record. */
export interface Refusal {
  readonly answer: HttpAnswer;
  readonly reason: ReasonCode;
  /** Default `error` for 5xx answers, else `deny`. */
  readonly outcome?: AuditOutcome;
}

/** What a step returns: undefined to continue, or the refusal. */
export type StepResult = Refusal | undefined;

/**
 * One named step of a request pipeline. `run` may answer synchronously (most steps do) or with a
 * promise (token verification on a cache miss).
 *
 * @example
 * ```ts
 * const businessHours: PipelineStep = {
 *   name: 'business-hours',
 *   run: (state) => (isOpen() ? undefined : { answer: forbiddenAnswer('forbidden'), reason: 'forbidden' }),
 * };
 * ```
 */
export interface PipelineStep {
  /** Short name shown in logs and docs: `host`, `origin`, `operation`, `bearer`, `verify`, `policy`. */
  readonly name: string;
  run(state: RequestState): StepResult | Promise<StepResult>;
}

/**
 * Returns `steps` with `step` inserted right after the step named `after`. Throws when no step
 * has that name (a pipeline edited by name must not silently lose a step).
 *
 * @example
 * ```ts
 * createResourceServer({ ...options, steps: (defaults) => insertStepAfter(defaults, 'verify', senderStep) });
 * ```
 */
export function insertStepAfter(
  steps: readonly PipelineStep[],
  after: string,
  step: PipelineStep,
): PipelineStep[] {
  const index = steps.findIndex((s) => s.name === after);
  if (index < 0) throw new Error(`no pipeline step named "${after}"`);
  return [...steps.slice(0, index + 1), step, ...steps.slice(index + 1)];
}

/**
 * Returns `steps` without the steps named in `names` (for a caller that already did their job,
 * such as the gateway, which checks Host and Origin before routing). Throws on an unknown name.
 */
export function withoutSteps(
  steps: readonly PipelineStep[],
  names: readonly string[],
): PipelineStep[] {
  for (const name of names)
    if (!steps.some((s) => s.name === name)) throw new Error(`no pipeline step named "${name}"`);
  return steps.filter((s) => !names.includes(s.name));
}
