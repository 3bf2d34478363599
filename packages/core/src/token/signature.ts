/**
 * JWS signature check of a compact JWT with the platform's `node:crypto.verify`, on a `KeyObject`
 * derived once from each imported key. Keys are still imported and validated by jose (see the key
 * set); only the final verify call differs from jose's `compactVerify`, which goes through
 * WebCrypto: an asynchronous thread-pool job per token, several times slower than the synchronous
 * call for RSA and ECDSA. The envelope (`parseJwtEnvelope`) has already refused `crit`, `b64` and
 * non-canonical base64url, which is everything `compactVerify` checks besides the signature.
 */
import {
  KeyObject,
  constants,
  verify,
  type VerifyKeyObjectInput,
  type webcrypto,
} from 'node:crypto';
import type { AsymmetricAlgorithm } from '../issuer/options.js';
import type { VerificationKey } from '../issuer/keyset.js';
import { decodeCanonicalBase64url } from './envelope.js';

/** How `node:crypto.verify` is called for one JWS algorithm (RFC 7518 §3). */
interface AlgorithmParameters {
  /** Digest, or null for EdDSA (the curve fixes it). */
  readonly hash: string | null;
  /** Key types (`KeyObject.asymmetricKeyType`) the algorithm may use. */
  readonly keyTypes: readonly string[];
  readonly padding?: number;
  readonly saltLength?: number;
  /** ECDSA: JWS carries raw r‖s of this many bytes, not DER. */
  readonly ecSignatureBytes?: number;
}

const PSS = constants.RSA_PKCS1_PSS_PADDING;

// RS*: PKCS #1 v1.5 is what node:crypto uses for an "rsa" key when no padding is given; the key
// is then passed alone, which is measurably cheaper than an options object.
const PARAMETERS: Readonly<Record<AsymmetricAlgorithm, AlgorithmParameters>> = {
  RS256: { hash: 'sha256', keyTypes: ['rsa'] },
  RS384: { hash: 'sha384', keyTypes: ['rsa'] },
  RS512: { hash: 'sha512', keyTypes: ['rsa'] },
  // RFC 7518 §3.5: the PSS salt is as long as the digest (what WebCrypto and jose use too).
  PS256: { hash: 'sha256', keyTypes: ['rsa', 'rsa-pss'], padding: PSS, saltLength: 32 },
  PS384: { hash: 'sha384', keyTypes: ['rsa', 'rsa-pss'], padding: PSS, saltLength: 48 },
  PS512: { hash: 'sha512', keyTypes: ['rsa', 'rsa-pss'], padding: PSS, saltLength: 64 },
  ES256: { hash: 'sha256', keyTypes: ['ec'], ecSignatureBytes: 64 },
  ES384: { hash: 'sha384', keyTypes: ['ec'], ecSignatureBytes: 96 },
  ES512: { hash: 'sha512', keyTypes: ['ec'], ecSignatureBytes: 132 },
  EdDSA: { hash: null, keyTypes: ['ed25519', 'ed448'] },
};

// One verify input per imported key (null when the key does not fit its algorithm), dropped with
// the key when a key set refresh replaces it.
const inputs = new WeakMap<VerificationKey, KeyObject | VerifyKeyObjectInput | null>();

function verifyInput(
  key: VerificationKey,
  parameters: AlgorithmParameters,
): KeyObject | VerifyKeyObjectInput | null {
  let input = inputs.get(key);
  if (input === undefined) {
    const object = KeyObject.from(key.key as webcrypto.CryptoKey);
    if (!parameters.keyTypes.includes(object.asymmetricKeyType ?? '')) input = null;
    else if (parameters.ecSignatureBytes !== undefined)
      input = { key: object, dsaEncoding: 'ieee-p1363' };
    else if (parameters.padding !== undefined)
      input = { key: object, padding: parameters.padding, saltLength: parameters.saltLength };
    else input = object;
    inputs.set(key, input);
  }
  return input;
}

/**
 * Whether the signature of `token` (three canonical base64url segments, header `alg` equal to
 * `alg`) verifies with `key` under `alg`. `decoded` is the already decoded third segment, when
 * the caller has it (`JwtEnvelope.signature`). False for a key of another algorithm, a signature
 * of the wrong size or encoding, and any error of the crypto layer.
 *
 * @example
 * ```ts
 * if (!verifyJwsSignature(token, header.alg, key)) throw badSignature();
 * ```
 */
export function verifyJwsSignature(
  token: string,
  alg: string,
  key: VerificationKey,
  decoded?: Buffer,
): boolean {
  if (alg !== key.alg) return false;
  const parameters = PARAMETERS[key.alg];
  if (parameters === undefined) return false;
  const dot = token.lastIndexOf('.');
  if (dot < 0) return false;
  try {
    const input = verifyInput(key, parameters);
    if (input === null) return false;
    const signature = decoded ?? decodeCanonicalBase64url(token.slice(dot + 1), 'signature');
    if (
      parameters.ecSignatureBytes !== undefined &&
      signature.length !== parameters.ecSignatureBytes
    )
      return false;
    // The signing input is the ASCII of "header.payload" (the envelope allowed only base64url).
    return verify(parameters.hash, Buffer.from(token.slice(0, dot), 'latin1'), input, signature);
  } catch {
    return false;
  }
}
