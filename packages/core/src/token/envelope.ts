/**
 * The strict JWS compact envelope, checked before any key lookup or signature work (RFC 8725):
 * size cap first, exactly three segments, canonical base64url, strict JSON objects without duplicate
 * members, and a JOSE header without any member that would pull keys or semantics from the token
 * itself (`jku`, `x5u`, `jwk`, `x5c`, `crit`, `b64`, `cty`, JWE members).
 */
import { InvalidTokenError } from '../errors.js';
import { parseStrictJson, StrictJsonError } from './strict-json.js';

/** Default maximum token length, characters. */
export const DEFAULT_MAX_TOKEN_LENGTH = 8192;

/** Longest accepted `kid`, characters. */
export const MAX_KID_LENGTH = 256;

/** The checked parts of a compact JWS. Claims are not yet verified. */
export interface JwtEnvelope {
  /** Protected header (a JSON object, checked for forbidden members). */
  readonly header: Readonly<Record<string, unknown>> & {
    readonly alg: string;
    readonly kid?: string;
    readonly typ?: string;
  };
  /** Payload (a JSON object; unverified until the signature is checked). */
  readonly payload: Readonly<Record<string, unknown>>;
  /** Length of the payload segment (for cache accounting). */
  readonly payloadLength: number;
  /** The signature bytes (canonical base64url already checked), so they are decoded once. */
  readonly signature?: Buffer;
}

const FORBIDDEN_HEADER_MEMBERS = [
  'jku',
  'x5u',
  'jwk',
  'x5c',
  'crit',
  'b64',
  'cty',
  'enc',
  'zip',
  'epk',
  'p2s',
  'p2c',
  'iv',
  'tag',
];
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Value of one base64url character (the alphabet is checked before). */
function sextet(code: number): number {
  if (code >= 0x41 && code <= 0x5a) return code - 0x41; // A-Z
  if (code >= 0x61 && code <= 0x7a) return code - 0x61 + 26; // a-z
  if (code >= 0x30 && code <= 0x39) return code - 0x30 + 52; // 0-9
  return code === 0x2d ? 62 : 63; // '-' or '_'
}
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function malformed(message: string): InvalidTokenError {
  return new InvalidTokenError('token_malformed', message);
}

/**
 * Splits a token into exactly three segments in one linear scan that stops at the fourth segment.
 * Returns the dot count seen (capped at 4) when the shape is wrong.
 */
export function splitCompact(token: string): [string, string, string] | number {
  const first = token.indexOf('.');
  if (first < 0) return 0;
  const second = token.indexOf('.', first + 1);
  if (second < 0) return 1;
  const third = token.indexOf('.', second + 1);
  if (third >= 0) return token.indexOf('.', third + 1) >= 0 ? 4 : 3;
  return [token.slice(0, first), token.slice(first + 1, second), token.slice(second + 1)];
}

/**
 * Decodes one canonical base64url segment: alphabet only, no padding, and re-encoding the bytes
 * must give the same text (so non-zero trailing bits and other aliases are refused). With the
 * alphabet and length already checked, re-encoding differs exactly when the bits of the last
 * character that fall outside the decoded bytes are not zero, which is checked directly.
 */
export function decodeCanonicalBase64url(segment: string, what: string): Buffer {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) {
    throw malformed(`${what} is not canonical base64url`);
  }
  const rest = segment.length % 4;
  if (rest !== 0) {
    // 2 characters carry 1 byte (4 spare bits), 3 characters carry 2 bytes (2 spare bits).
    const last = sextet(segment.charCodeAt(segment.length - 1));
    if ((last & (rest === 2 ? 0x0f : 0x03)) !== 0)
      throw malformed(`${what} is not canonical base64url`);
  }
  return Buffer.from(segment, 'base64url');
}

function decodeJsonObject(segment: string, what: string): Record<string, unknown> {
  const bytes = decodeCanonicalBase64url(segment, what);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw malformed(`${what} is not UTF-8`);
  }
  let value: unknown;
  try {
    value = parseStrictJson(text);
  } catch (error) {
    if (error instanceof StrictJsonError)
      throw malformed(`${what} is not strict JSON: ${error.message}`);
    throw error;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw malformed(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Checks the envelope of a compact JWS and returns its decoded header and payload. Issuer-specific
 * checks (algorithm allowlist, `typ`) happen after routing by `iss`.
 *
 * Rejects with `InvalidTokenError`: `token_malformed` (size, shape, encoding, JSON) or
 * `token_bad_header` (forbidden or ill-typed header members).
 *
 * @example
 * ```ts
 * const { header, payload } = parseJwtEnvelope(token); // default cap 8192 characters
 * ```
 */
export function parseJwtEnvelope(token: string, maxLength = DEFAULT_MAX_TOKEN_LENGTH): JwtEnvelope {
  if (typeof token !== 'string') throw malformed('token is not a string');
  if (token.length > maxLength) throw malformed(`token exceeds ${maxLength} characters`);
  const parts = splitCompact(token);
  if (typeof parts === 'number') {
    throw malformed(
      parts === 4
        ? 'JWE or multi-part tokens are not accepted'
        : 'token does not have three segments',
    );
  }
  const [h, p, s] = parts;
  if (s.length === 0) throw malformed('signature is empty');
  const signature = decodeCanonicalBase64url(s, 'signature');
  const header = decodeJsonObject(h, 'header');
  const payload = decodeJsonObject(p, 'payload');

  for (const name of FORBIDDEN_HEADER_MEMBERS) {
    if (Object.hasOwn(header, name)) {
      throw new InvalidTokenError('token_bad_header', `header member "${name}" is not accepted`);
    }
  }
  if (typeof header.alg !== 'string' || header.alg.length === 0) {
    throw new InvalidTokenError('token_bad_header', 'header "alg" must be a string');
  }
  if (
    header.kid !== undefined &&
    (typeof header.kid !== 'string' || header.kid.length > MAX_KID_LENGTH)
  ) {
    throw new InvalidTokenError(
      'token_bad_header',
      'header "kid" must be a string of bounded length',
    );
  }
  if (header.typ !== undefined && typeof header.typ !== 'string') {
    throw new InvalidTokenError('token_bad_type', 'header "typ" must be a string');
  }
  return {
    header: header as JwtEnvelope['header'],
    payload,
    payloadLength: p.length,
    signature,
  };
}
