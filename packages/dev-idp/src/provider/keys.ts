// The IdP's signing key ring: fresh ES256 and RS256 keys per run (or keys pinned by the fixtures),
// with the two rotation styles a resource server must survive: pre-published (the new key appears
// in the JWKS before anything is signed with it) and immediate (old keys vanish at once).
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

/** Algorithms the IdP signs with. */
export type SigningAlg = 'ES256' | 'RS256';

/** Rotation modes: see {@link KeyRing.rotate}. */
export type RotationMode = 'prepublish' | 'activate' | 'immediate';

/** A private signing JWK with its `kid`, `alg` and `use` set. */
export type SigningJwk = JWK & { kid: string; alg: SigningAlg; use: 'sig' };

/** What the key ring looks like after a change: which kids sign, and which are published. */
export interface KeyRingState {
  /** Kids used for signing now, one per algorithm. */
  signing: Record<SigningAlg, string>;
  /** Kids published but not yet signing (pre-published). */
  pending: string[];
  /** Kids still published so tokens they signed keep verifying. */
  retired: string[];
}

const ALGS: SigningAlg[] = ['ES256', 'RS256'];

async function generateSigningKey(alg: SigningAlg): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg, use: 'sig' };
}

function asSigningJwk(value: Record<string, unknown>): SigningJwk {
  const { kid, alg } = value;
  if (typeof kid !== 'string' || (alg !== 'ES256' && alg !== 'RS256') || !('d' in value)) {
    throw new Error('pinned signing keys must be private JWKs with a kid and alg ES256 or RS256');
  }
  return { ...(value as JWK), kid, alg, use: 'sig' };
}

/** The signing keys of one IdP instance. Private state; only JWKs leave it. */
export class KeyRing {
  #signing = new Map<SigningAlg, SigningJwk>();
  #pending: SigningJwk[] = [];
  #retired: SigningJwk[] = [];

  private constructor() {}

  /** Creates a ring from pinned keys (first key per alg signs) or fresh keys for each algorithm. */
  static async create(pinned?: Record<string, unknown>[]): Promise<KeyRing> {
    const ring = new KeyRing();
    for (const raw of pinned ?? []) {
      const key = asSigningJwk(raw);
      if (!ring.#signing.has(key.alg)) ring.#signing.set(key.alg, key);
      else ring.#retired.push(key);
    }
    const missing = ALGS.filter((alg) => !ring.#signing.has(alg));
    for (const key of await Promise.all(missing.map(generateSigningKey))) {
      ring.#signing.set(key.alg, key);
    }
    return ring;
  }

  /** The kid that signs tokens with `alg` now. */
  signingKid(alg: SigningAlg): string {
    const key = this.#signing.get(alg);
    if (!key) throw new Error(`no signing key for ${alg}`);
    return key.kid;
  }

  /** Every private key the provider must hold, signing keys first. */
  privateJwks(): { keys: SigningJwk[] } {
    return { keys: [...this.#signing.values(), ...this.#pending, ...this.#retired] };
  }

  /** The published key set (public halves), as the JWKS endpoint serves it. */
  publicJwks(): { keys: JWK[] } {
    return {
      keys: this.privateJwks().keys.map((key) => {
        const { kty, crv, x, y, n, e, kid, alg, use } = key;
        return Object.fromEntries(
          Object.entries({ kty, crv, x, y, n, e, kid, alg, use }).filter(
            ([, v]) => v !== undefined,
          ),
        );
      }),
    };
  }

  /** Current state (kids only). */
  state(): KeyRingState {
    return {
      signing: { ES256: this.signingKid('ES256'), RS256: this.signingKid('RS256') },
      pending: this.#pending.map((k) => k.kid),
      retired: this.#retired.map((k) => k.kid),
    };
  }

  /**
   * Rotates the signing keys of every algorithm.
   * - `prepublish`: publishes new keys that do not sign yet (call `activate` later);
   * - `activate`: pending keys start signing; the previous ones stay published (retired) so
   *   tokens they signed still verify; older retired keys are dropped;
   * - `immediate`: new keys sign at once and every other key disappears from the JWKS.
   */
  async rotate(mode: RotationMode): Promise<KeyRingState> {
    switch (mode) {
      case 'prepublish':
        this.#pending = await Promise.all(ALGS.map(generateSigningKey));
        break;
      case 'activate': {
        if (this.#pending.length === 0)
          this.#pending = await Promise.all(ALGS.map(generateSigningKey));
        this.#retired = [...this.#signing.values()];
        for (const key of this.#pending) this.#signing.set(key.alg, key);
        this.#pending = [];
        break;
      }
      case 'immediate': {
        const fresh = await Promise.all(ALGS.map(generateSigningKey));
        this.#signing = new Map(fresh.map((k) => [k.alg, k]));
        this.#pending = [];
        this.#retired = [];
        break;
      }
      default:
        throw new Error(`unknown rotation mode ${String(mode)}`);
    }
    return this.state();
  }
}
