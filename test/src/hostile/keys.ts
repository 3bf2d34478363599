/**
 * Real signing keys for the hostile-token factory, and JWS compact signing over raw header and
 * payload text, so tokens can carry any header (duplicate members, forbidden members, odd `alg`)
 * while still being correctly signed. Keys come from jose (`generateKeyPair`) or node:crypto;
 * signatures are made by node:crypto or jose, never computed by hand.
 */
import { generateKeyPairSync, KeyObject, sign as cryptoSign, type JsonWebKey } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** A signing key: its JWS algorithm, optional `kid`, the key pair and the public JWK. */
export interface TestSigner {
  readonly alg: string;
  readonly kid?: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Public JWK with `kid`, `alg` and `use: sig` (as an IdP would publish it). */
  readonly publicJwk: JWK;
}

/**
 * Generates a key pair with jose for `alg` (ES256, RS256, PS256, EdDSA, ...).
 *
 * @example
 * ```ts
 * const es = await createTestSigner('ES256', 'main-es256');
 * ```
 */
export async function createTestSigner(alg: string, kid?: string): Promise<TestSigner> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(pair.publicKey);
  return {
    alg,
    ...(kid !== undefined ? { kid } : {}),
    privateKey: KeyObject.from(pair.privateKey),
    publicKey: KeyObject.from(pair.publicKey),
    publicJwk: { ...jwk, ...(kid !== undefined ? { kid } : {}), alg, use: 'sig' },
  };
}

/**
 * Generates a key pair with node:crypto for shapes jose refuses to generate (RSA under 2048 bits,
 * an EC curve that does not fit the declared `alg`). `jwkExtra` is merged into the public JWK.
 */
export function createRawSigner(
  options:
    | { kind: 'rsa'; modulusLength: number; alg: string; kid: string }
    | { kind: 'ec'; namedCurve: string; alg: string; kid: string },
  jwkExtra: Record<string, unknown> = {},
): TestSigner {
  const pair =
    options.kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: options.modulusLength })
      : generateKeyPairSync('ec', { namedCurve: options.namedCurve });
  const jwk = pair.publicKey.export({ format: 'jwk' }) as JsonWebKey;
  return {
    alg: options.alg,
    kid: options.kid,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    publicJwk: { ...(jwk as JWK), kid: options.kid, alg: options.alg, use: 'sig', ...jwkExtra },
  };
}

/** base64url of UTF-8 text or bytes. */
export function b64u(value: string | Uint8Array): string {
  return Buffer.from(value).toString('base64url');
}

/**
 * Signs `signingInput` with node:crypto as JWS algorithm `alg` prescribes (RS*, PS*, ES* in r‖s
 * form, EdDSA). `alg` defaults to the signer's; pass another to sign under a foreign header.
 */
export function signInput(signingInput: string, signer: TestSigner, alg = signer.alg): Buffer {
  const data = Buffer.from(signingInput, 'ascii');
  const bits = alg.slice(2);
  if (alg === 'EdDSA') return cryptoSign(null, data, signer.privateKey);
  if (alg.startsWith('ES')) {
    return cryptoSign(`sha${bits}`, data, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
  }
  if (alg.startsWith('PS')) {
    return cryptoSign(`sha${bits}`, data, {
      key: signer.privateKey,
      padding: 6, // RSA_PKCS1_PSS_PADDING
      saltLength: Number(bits) / 8,
    });
  }
  return cryptoSign(`sha${bits}`, data, signer.privateKey);
}

/** Compact JWS `header.payload.signature` over raw JSON texts, correctly signed by `signer`. */
export function signCompact(
  headerText: string,
  payloadText: string,
  signer: TestSigner,
  alg?: string,
): string {
  const input = `${b64u(headerText)}.${b64u(payloadText)}`;
  return `${input}.${b64u(signInput(input, signer, alg))}`;
}
