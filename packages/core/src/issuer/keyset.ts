/**
 * One issuer's verification keys: fetched from its JWKS (configured or discovered), filtered to keys
 * that can only verify with the issuer's allowed algorithms, kept as last-known-good, refreshed in
 * the background before they go stale, served for a bounded window when the IdP is unreachable,
 * and refetched (single flight, with a cooldown) when a token names an unknown `kid`.
 */
import { importJWK, type CryptoKey } from 'jose';
import { InvalidTokenError, UnavailableError } from '../errors.js';
import { discoverIssuer } from './discovery.js';
import { fetchJsonObject } from './fetch.js';
import type { AsymmetricAlgorithm, ResolvedIssuer } from './options.js';
import { assertFetchableUrl } from './url.js';

/** Most JWKS entries considered; the rest are ignored. */
export const MAX_JWKS_KEYS = 100;

/** One usable verification key, bound to exactly one algorithm. */
export interface VerificationKey {
  /** `kid` of the JWK, if it had one. */
  readonly kid?: string;
  /** The single algorithm this key verifies with. */
  readonly alg: AsymmetricAlgorithm;
  /** The imported public key. */
  readonly key: CryptoKey;
}

/** Readiness and metrics view of one key set. Times are epoch milliseconds. */
export interface KeySetState {
  /** A key set was loaded at least once and is inside its usable (fresh or stale) window. */
  readonly usable: boolean;
  /** Keys are older than the refresh interval (refreshes are failing) but still served. */
  readonly stale: boolean;
  /** Number of usable keys (one per key and algorithm). */
  readonly keyCount: number;
  /** Time of the last successful load. */
  readonly lastRefreshAt?: number;
  /** Time of the last failed load attempt. */
  readonly lastFailureAt?: number;
  /** Message of the last failed load (no secrets). */
  readonly lastError?: string;
  /** Number of JWKS (and discovery) fetch attempts so far. */
  readonly fetches: number;
}

function decodedLength(b64url: string): number {
  return Buffer.from(b64url, 'base64url').length;
}

function rsaModulusBits(n: string): number {
  const bytes = Buffer.from(n, 'base64url');
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  const first = bytes[i] as number;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(first));
}

const EC_ALG_BY_CURVE: Record<string, AsymmetricAlgorithm> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
};

const RSA_ALGS: readonly AsymmetricAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
];

/** The algorithms a JWK could verify with, and its public members only; `undefined` when unusable. */
function classify(
  jwk: Record<string, unknown>,
): { algs: readonly AsymmetricAlgorithm[]; publicJwk: Record<string, string> } | undefined {
  const str = (name: string): string | undefined =>
    typeof jwk[name] === 'string' && (jwk[name] as string).length > 0
      ? (jwk[name] as string)
      : undefined;
  switch (jwk.kty) {
    case 'RSA': {
      const n = str('n');
      const e = str('e');
      if (!n || !e || rsaModulusBits(n) < 2048 || n.length > 2800 || e.length > 16)
        return undefined;
      return { algs: RSA_ALGS, publicJwk: { kty: 'RSA', n, e } };
    }
    case 'EC': {
      const crv = str('crv');
      const x = str('x');
      const y = str('y');
      const alg = crv !== undefined ? EC_ALG_BY_CURVE[crv] : undefined;
      if (!alg || !x || !y || x.length > 100 || y.length > 100) return undefined;
      return { algs: [alg], publicJwk: { kty: 'EC', crv: crv as string, x, y } };
    }
    case 'OKP': {
      const x = str('x');
      if (jwk.crv !== 'Ed25519' || !x || decodedLength(x) !== 32) return undefined;
      return { algs: ['EdDSA'], publicJwk: { kty: 'OKP', crv: 'Ed25519', x } };
    }
    default:
      return undefined;
  }
}

/**
 * Turns a JWKS document into verification keys usable under `allowed`. Never throws because of a
 * bad entry: keys with `use` other than `sig`, `key_ops` without `verify`, an `alg` outside the
 * allowlist or not fitting the key, RSA under 2048 bits, unknown `kty`/`crv`, a non-string `kid`, or
 * that fail to import are ignored. Private members are never imported.
 *
 * @example
 * ```ts
 * const keys = await selectUsableKeys(await (await fetch(jwksUri)).json(), ['ES256']);
 * ```
 */
export async function selectUsableKeys(
  jwks: unknown,
  allowed: readonly AsymmetricAlgorithm[],
): Promise<VerificationKey[]> {
  if (
    jwks === null ||
    typeof jwks !== 'object' ||
    !Array.isArray((jwks as { keys?: unknown }).keys)
  ) {
    throw new Error('JWKS document has no "keys" array');
  }
  const entries = (jwks as { keys: unknown[] }).keys.slice(0, MAX_JWKS_KEYS);
  const result: VerificationKey[] = [];
  for (const entry of entries) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) continue;
    const jwk = entry as Record<string, unknown>;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.key_ops !== undefined) {
      if (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes('verify')) continue;
    }
    if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid.length > 256)) continue;
    const shape = classify(jwk);
    if (!shape) continue;
    let algs = shape.algs.filter((a) => allowed.includes(a));
    if (jwk.alg !== undefined) {
      algs = algs.filter((a) => a === jwk.alg);
    }
    for (const alg of algs) {
      try {
        const key = await importJWK(shape.publicJwk, alg);
        if (!(key instanceof Uint8Array)) {
          result.push(
            Object.freeze({ ...(typeof jwk.kid === 'string' ? { kid: jwk.kid } : {}), alg, key }),
          );
        }
      } catch {
        // Not importable (e.g. an EC point off the curve): ignored like any other decoy.
      }
    }
  }
  return result;
}

/**
 * The key set of one issuer. Create one per issuer; call `start()` for background refresh and
 * `close()` to stop it. `select()` is what verification calls.
 *
 * @example
 * ```ts
 * const keys = new IssuerKeySet(resolveIssuer({ issuer: 'https://idp.example.com' }));
 * await keys.refresh();
 * const { key } = await keys.select({ alg: 'ES256', kid: 'k1' });
 * ```
 */
export class IssuerKeySet {
  readonly #issuer: ResolvedIssuer;
  readonly #now: () => number;
  #jwksUri: URL | undefined;
  #keys: readonly VerificationKey[] = [];
  #loadedAt: number | undefined;
  #lastFailureAt: number | undefined;
  #lastError: string | undefined;
  #lastKidRefetchAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #fetches = 0;

  constructor(issuer: ResolvedIssuer, options: { now?: () => number } = {}) {
    this.#issuer = issuer;
    this.#now = options.now ?? Date.now;
    if (issuer.jwksUri !== undefined) {
      this.#jwksUri = assertFetchableUrl(
        issuer.jwksUri,
        issuer.allowInsecureLoopbackHttp,
        'jwksUri',
      );
    }
  }

  /** Current state for readiness probes and metrics. */
  state(): KeySetState {
    const now = this.#now();
    const age = this.#loadedAt === undefined ? Number.POSITIVE_INFINITY : now - this.#loadedAt;
    const interval = this.#issuer.keyRefreshIntervalSec * 1000;
    return {
      usable: age <= interval + this.#issuer.staleIfErrorSec * 1000,
      stale: this.#loadedAt !== undefined && age > interval,
      keyCount: this.#keys.length,
      ...(this.#loadedAt !== undefined ? { lastRefreshAt: this.#loadedAt } : {}),
      ...(this.#lastFailureAt !== undefined ? { lastFailureAt: this.#lastFailureAt } : {}),
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      fetches: this.#fetches,
    };
  }

  /**
   * `state().usable` without building the state: a key set was loaded and is inside its usable
   * (fresh or stale) window. Checked on every cache hit, so it allocates nothing.
   */
  usable(): boolean {
    if (this.#loadedAt === undefined) return false;
    const usableMs = (this.#issuer.keyRefreshIntervalSec + this.#issuer.staleIfErrorSec) * 1000;
    return this.#now() - this.#loadedAt <= usableMs;
  }

  /** True while `key` is still part of the current key set (false once the IdP removed it). */
  contains(key: VerificationKey): boolean {
    return this.#keys.includes(key);
  }

  /**
   * Loads the key set now (discovering `jwks_uri` first if needed). Concurrent calls share one
   * request. On success the new keys replace the old ones entirely; on failure the old keys stay
   * and the returned promise rejects.
   */
  refresh(): Promise<void> {
    if (this.#inflight) return this.#inflight;
    const run = this.#load().finally(() => {
      this.#inflight = undefined;
    });
    this.#inflight = run;
    return run;
  }

  async #load(): Promise<void> {
    const issuer = this.#issuer;
    try {
      if (!this.#jwksUri) {
        this.#fetches++;
        const meta = await discoverIssuer(issuer.issuer, {
          timeoutMs: issuer.fetchTimeoutMs,
          allowInsecureLoopbackHttp: issuer.allowInsecureLoopbackHttp,
        });
        if (meta.jwks_uri === undefined)
          throw new Error(`metadata of ${issuer.issuer} has no jwks_uri`);
        this.#jwksUri = new URL(meta.jwks_uri);
      }
      this.#fetches++;
      const doc = await fetchJsonObject(this.#jwksUri, issuer.fetchTimeoutMs);
      const keys = await selectUsableKeys(doc, issuer.algorithms);
      this.#keys = Object.freeze(keys);
      this.#loadedAt = this.#now();
      this.#lastError = undefined;
    } catch (error) {
      this.#lastFailureAt = this.#now();
      this.#lastError = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  /** Starts background refresh (at 80 % of the refresh interval) and loads once; never rejects. */
  async start(): Promise<void> {
    if (!this.#timer) {
      const period = Math.max(1000, this.#issuer.keyRefreshIntervalSec * 800);
      this.#timer = setInterval(() => {
        this.refresh().catch(() => undefined);
      }, period);
      this.#timer.unref();
    }
    if (this.#loadedAt === undefined) await this.refresh().catch(() => undefined);
  }

  /** Stops background refresh. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #unavailable(): UnavailableError {
    const retryAfter = Math.max(1, Math.ceil(this.#issuer.failureBackoffSec));
    return new UnavailableError(
      'issuer_unavailable',
      `keys of issuer ${this.#issuer.issuer} are unavailable${this.#lastError ? `: ${this.#lastError}` : ''}`,
      { retryAfter },
    );
  }

  #inBackoff(now: number): boolean {
    return (
      this.#lastFailureAt !== undefined &&
      now - this.#lastFailureAt < this.#issuer.failureBackoffSec * 1000
    );
  }

  /** Makes sure usable keys exist: waits for a load when none are, starts a background one when due. */
  async #ensureUsable(): Promise<void> {
    const now = this.#now();
    if (!this.usable()) {
      if (this.#inBackoff(now) && !this.#inflight) throw this.#unavailable();
      try {
        await this.refresh();
      } catch {
        throw this.#unavailable();
      }
      if (!this.usable()) throw this.#unavailable();
      return;
    }
    const age = now - (this.#loadedAt as number);
    if (age >= this.#issuer.keyRefreshIntervalSec * 800 && !this.#inBackoff(now)) {
      this.refresh().catch(() => undefined);
    }
  }

  #match(alg: string, kid: string | undefined): VerificationKey[] {
    return this.#keys.filter((k) => k.alg === alg && (kid === undefined || k.kid === kid));
  }

  /**
   * Picks the one key for a token header. A `kid` must match exactly (with the same algorithm); a
   * header without `kid` is accepted only when exactly one key fits the algorithm. Two fitting keys
   * → rejected (ambiguous; never first-key-wins). An unknown `kid` causes at most one refetch per
   * `unknownKidCooldownSec`, shared by concurrent callers.
   *
   * Rejects with `InvalidTokenError('token_unknown_key')`, or `UnavailableError('issuer_unavailable')`
   * when no usable key set can be had.
   */
  async select(header: { alg: string; kid?: string }): Promise<VerificationKey> {
    await this.#ensureUsable();
    let found = this.#match(header.alg, header.kid);
    if (found.length === 0) {
      const now = this.#now();
      const cooldown = this.#issuer.unknownKidCooldownSec * 1000;
      if (this.#inflight) {
        await this.#inflight.catch(() => undefined);
        found = this.#match(header.alg, header.kid);
      } else if (now - this.#lastKidRefetchAt >= cooldown && !this.#inBackoff(now)) {
        this.#lastKidRefetchAt = now;
        await this.refresh().catch(() => undefined);
        found = this.#match(header.alg, header.kid);
      }
    }
    if (found.length === 1) return found[0] as VerificationKey;
    if (found.length > 1) {
      throw new InvalidTokenError(
        'token_unknown_key',
        'ambiguous key selection: several keys fit the token header',
      );
    }
    throw new InvalidTokenError('token_unknown_key', 'no key of the issuer fits the token header');
  }
}
