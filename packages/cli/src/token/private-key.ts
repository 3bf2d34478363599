/**
 * The client's private key for `private_key_jwt`, read from a JWK (JSON) or a PKCS#8 PEM file.
 * Every problem names the file and what is wrong with its key: a JWK that is not an asymmetric
 * private key, a public key, a key that does not fit the algorithm, a PEM in another format.
 */
import { importJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';
import { TokenCommandError } from './token-error.js';

/** JWK key types that sign with a private key (RFC 7518, RFC 8037). */
const ASYMMETRIC_KTY = ['EC', 'RSA', 'OKP'];

/** A key usable for private_key_jwt, and its `kid` when the JWK has one. */
export interface ClientPrivateKey {
  readonly key: CryptoKey;
  readonly kid?: string;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function fromJwk(
  text: string,
  source: string,
  alg: string | undefined,
): Promise<ClientPrivateKey> {
  let jwk: JWK;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error('not a JSON object');
    }
    jwk = parsed as JWK;
  } catch (error) {
    throw new TokenCommandError(
      `${source} is not a JWK: its JSON does not parse (${reason(error)})`,
    );
  }
  if (typeof jwk.kty !== 'string' || !ASYMMETRIC_KTY.includes(jwk.kty)) {
    throw new TokenCommandError(
      `${source} is a JWK with kty ${JSON.stringify(jwk.kty ?? null)}; private_key_jwt needs an ` +
        `EC, RSA or OKP private key`,
    );
  }
  if (jwk.d === undefined) {
    throw new TokenCommandError(
      `${source} is a public ${jwk.kty} key (it has no "d"); give the client's private key`,
    );
  }
  const algorithm = jwk.alg ?? alg ?? 'ES256';
  let key: CryptoKey | Uint8Array;
  try {
    key = await importJWK({ ...jwk, alg: algorithm }, algorithm, { extractable: false });
  } catch (error) {
    throw new TokenCommandError(
      `${source}: the ${jwk.kty} key cannot sign with ${algorithm}` +
        `${jwk.alg ? '' : ' (--alg)'}: ${reason(error)}`,
    );
  }
  if (key instanceof Uint8Array) throw new TokenCommandError(`${source} is not a private key`);
  return { key, ...(jwk.kid !== undefined ? { kid: jwk.kid } : {}) };
}

async function fromPem(text: string, source: string, alg: string): Promise<ClientPrivateKey> {
  const label = /-----BEGIN ([A-Z ]+)-----/.exec(text)?.[1];
  if (label === undefined) {
    throw new TokenCommandError(`${source} is neither a JWK (JSON) nor a PEM file`);
  }
  if (label !== 'PRIVATE KEY') {
    throw new TokenCommandError(
      `${source} holds a PEM "${label}"; give a PKCS#8 "PRIVATE KEY" ` +
        `(convert it with: openssl pkcs8 -topk8 -nocrypt -in FILE)`,
    );
  }
  try {
    return { key: await importPKCS8(text, alg) };
  } catch (error) {
    throw new TokenCommandError(
      `${source}: the key cannot sign with ${alg} (--alg): ${reason(error)}`,
    );
  }
}

/**
 * Imports a private key from `text`, the contents of `source` (a file name, for messages).
 *
 * @throws TokenCommandError naming `source` and what is wrong.
 * @example
 * ```ts
 * const { key, kid } = await importClientPrivateKey(await readFile(f, 'utf8'), f, 'ES256');
 * ```
 */
export async function importClientPrivateKey(
  text: string,
  source: string,
  alg: string | undefined,
): Promise<ClientPrivateKey> {
  const trimmed = text.trim();
  return trimmed.startsWith('{')
    ? fromJwk(trimmed, source, alg)
    : fromPem(trimmed, source, alg ?? 'ES256');
}
