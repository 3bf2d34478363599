/**
 * `WWW-Authenticate` header writer (RFC 9110 §11.6.1 auth-params, RFC 6750 §3, RFC 9470). Values
 * are always quoted strings with `"` and `\` escaped; control characters are refused, so a
 * challenge can never split a header or smuggle another one.
 */
import { McpIamError } from '../errors.js';

/** A challenge parameter value: quoted string, or a bare non-negative integer (e.g. `max_age`). */
export type ChallengeValue = string | number;

/** Thrown when a challenge parameter cannot be written safely. */
export class ChallengeError extends McpIamError<'invalid_challenge'> {
  constructor(message: string) {
    super('invalid_challenge', message);
    this.name = 'ChallengeError';
  }
}

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const NON_ASCII = /[^\t\u0020-\u007e]/;

/** Quotes a value as an RFC 9110 quoted-string, escaping `"` and `\`; refuses CR, LF and controls. */
export function quoteAuthParam(value: string): string {
  if (CONTROL.test(value)) throw new ChallengeError('challenge value contains a control character');
  // node:http refuses field values above U+00FF, and obs-text is obsolete: printable ASCII only.
  if (NON_ASCII.test(value))
    throw new ChallengeError('challenge value contains a non-ASCII character');
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * Formats one challenge: `Bearer name="value", other="value"`. `undefined` parameters are skipped;
 * numbers are written bare (they must be non-negative integers).
 *
 * @example
 * ```ts
 * formatChallenge('Bearer', [['error', 'insufficient_scope'], ['scope', 'a b']]);
 * // 'Bearer error="insufficient_scope", scope="a b"'
 * ```
 */
export function formatChallenge(
  scheme: string,
  params: ReadonlyArray<readonly [string, ChallengeValue | undefined]>,
): string {
  if (!TOKEN.test(scheme)) throw new ChallengeError('invalid auth scheme');
  const parts: string[] = [];
  for (const [name, value] of params) {
    if (value === undefined) continue;
    if (!TOKEN.test(name)) throw new ChallengeError('invalid auth-param name');
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value) || value < 0)
        throw new ChallengeError('invalid numeric auth-param');
      parts.push(`${name}=${value}`);
    } else {
      parts.push(`${name}=${quoteAuthParam(value)}`);
    }
  }
  return parts.length === 0 ? scheme : `${scheme} ${parts.join(', ')}`;
}
