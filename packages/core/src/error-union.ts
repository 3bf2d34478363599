/** Every error class @mcp-iam/core throws, as one union; each extends `McpIamError`. */
import type { BodyTooLargeError } from './http/body.js';
import type { ChallengeError } from './http/challenge.js';
import type { MetadataConfigError } from './http/metadata.js';
import type { IdpFetchError } from './issuer/fetch.js';
import type { IssuerOptionError } from './issuer/option-error.js';
import type { OperationError } from './mcp/operation.js';
import type { PolicyError } from './policy/policy.js';
import type { StrictJsonError } from './token/strict-json.js';
import type { InvalidRequestError, InvalidTokenError, UnavailableError } from './errors.js';

/**
 * The errors of @mcp-iam/core. Branch on `code` (stable), or narrow with `instanceof`.
 *
 * @example
 * ```ts
 * function explain(error: CoreErrors): string {
 *   return error instanceof UnavailableError ? `retry in ${error.retryAfter}s` : error.code;
 * }
 * ```
 */
export type CoreErrors =
  | InvalidTokenError
  | InvalidRequestError
  | UnavailableError
  | OperationError
  | PolicyError
  | ChallengeError
  | MetadataConfigError
  | StrictJsonError
  | IdpFetchError
  | BodyTooLargeError
  | IssuerOptionError;
