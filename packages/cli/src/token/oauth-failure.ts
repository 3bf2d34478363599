/**
 * What went wrong in an OAuth exchange, in words that name the cause: the `error` and
 * `error_description` the IdP gave — from the JSON body or, when it answered with a
 * `WWW-Authenticate` challenge (oauth4webapi's `WWWAuthenticateChallengeError`), from the
 * challenge's parameters — or the system error code when it did not answer at all.
 */
import * as oauth from 'oauth4webapi';
import { fetchFailureCause } from '@mcp-iam/core';

/** `invalid_client (client authentication failed)`, or `invalid_client`. */
function errorText(error: string | undefined, description: string | undefined): string | undefined {
  if (error === undefined) return undefined;
  return description ? `${error} (${description})` : error;
}

/** The OAuth error of a challenge (the first that names one), as `error (description)`. */
function challengeError(error: oauth.WWWAuthenticateChallengeError): string | undefined {
  for (const challenge of error.cause) {
    const text = errorText(challenge.parameters.error, challenge.parameters.error_description);
    if (text !== undefined) return text;
  }
  return undefined;
}

/**
 * One line describing `error`, thrown by an oauth4webapi call or by fetch.
 *
 * @example
 * ```ts
 * describeOAuthFailure(e) // 'HTTP 401 invalid_client (client authentication failed)'
 * ```
 */
export function describeOAuthFailure(error: unknown): string {
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    const text = challengeError(error);
    const schemes = error.cause.map((c) => c.scheme).join(', ');
    return `HTTP ${error.status} ${text ?? `with a ${schemes} challenge and no error code`}`;
  }
  if (error instanceof oauth.ResponseBodyError) {
    return `HTTP ${error.status} ${errorText(error.error, error.error_description)}`;
  }
  if (error instanceof oauth.AuthorizationResponseError) {
    return errorText(error.error, error.error_description) ?? error.message;
  }
  if (error instanceof TypeError && error.message === 'fetch failed') {
    return `no answer (${fetchFailureCause(error)})`;
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return 'no answer (ETIMEDOUT)';
  }
  return error instanceof Error ? error.message : String(error);
}

/** The OAuth `error` code of `error`, when the IdP gave one. */
export function oauthErrorCode(error: unknown): string | undefined {
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return error.cause.find((c) => c.parameters.error !== undefined)?.parameters.error;
  }
  if (
    error instanceof oauth.ResponseBodyError ||
    error instanceof oauth.AuthorizationResponseError
  ) {
    return error.error;
  }
  return undefined;
}
