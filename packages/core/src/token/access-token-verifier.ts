/**
 * `createAccessTokenVerifier`: the composition of the verification steps behind the
 * `AccessTokenVerifier` contract. A token is routed by its exact `iss` (after the strict envelope)
 * to exactly one trusted issuer; JWTs are verified locally against that issuer's key set, opaque
 * tokens are introspected at the one introspection-enabled issuer of the route. Verified JWT results
 * are cached; the audience and issuer subset of each call are checked after every cache hit.
 */
import { InvalidTokenError } from '../errors.js';
import { IssuerRegistry, type IssuerRuntime } from '../issuer/registry.js';
import type { KeySetState } from '../issuer/keyset.js';
import type { TrustedIssuer } from '../issuer/options.js';
import { buildPrincipal } from '../principal/build.js';
import type { Principal } from '../principal/principal.js';
import {
  ValidatedTokenCache,
  tokenCacheKey,
  type CachedVerification,
  type ValidatedTokenCacheOptions,
} from './cache.js';
import { checkAudience } from './claims.js';
import { DEFAULT_MAX_TOKEN_LENGTH, parseJwtEnvelope, splitCompact } from './envelope.js';
import type { IntrospectionState } from './introspection.js';
import { verifyJwtForIssuer } from './jwt.js';
import type { AccessTokenVerifier, VerifiedToken, VerifyContext } from './verifier.js';

/** Options of `createAccessTokenVerifier`. */
export interface AccessTokenVerifierOptions {
  /** Trusted issuers (at least one); each `issuer` string at most once. */
  readonly issuers: readonly TrustedIssuer[];
  /** Longest token accepted, characters; checked before anything else. Default 8192. */
  readonly maxTokenLength?: number;
  /** Validated-token cache settings, or `false` to disable it. Default `{ maxEntries: 10000, maxBytes: 16 MiB, maxTtlSec: 60 }`. */
  readonly cache?: ValidatedTokenCacheOptions | false;
  /** Clock in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

/** Readiness and metrics view of one issuer. */
export interface IssuerState {
  readonly issuer: string;
  readonly format: 'jwt' | 'opaque' | 'both';
  /** JWT issuers: a usable key set is loaded. Opaque-only issuers: always true. */
  readonly ready: boolean;
  readonly keySet?: KeySetState;
  readonly introspection?: IntrospectionState;
}

/** Readiness and metrics view of the verifier (for /readyz and /metrics). */
export interface VerifierState {
  /** Every issuer is ready. */
  readonly ready: boolean;
  readonly issuers: readonly IssuerState[];
  readonly cache: {
    readonly size: number;
    readonly bytes: number;
    readonly hits: number;
    readonly misses: number;
  };
}

/** The verifier returned by `createAccessTokenVerifier`. */
export interface IamAccessTokenVerifier extends AccessTokenVerifier {
  verifyCached(token: string, context: VerifyContext): VerifiedToken | undefined;
  /** Loads every issuer's key set and starts background refresh. Never rejects; see `ready()`. */
  start(): Promise<void>;
  /** True when every issuer is ready (key set loaded and inside its usable window). */
  ready(): boolean;
  /** Per-issuer readiness, key set and cache counters. */
  state(): VerifierState;
  /**
   * Checks that a context is usable (known issuers; at most one introspection-enabled issuer).
   * Throws an `Error` describing the configuration problem. Call it when routes are configured.
   */
  checkContext(context: VerifyContext): void;
  /** Stops background timers. */
  close(): void;
}

/** What `#lookup` found for one token and context. */
interface Lookup {
  readonly token: string;
  readonly context: VerifyContext;
  readonly shape: ReturnType<typeof splitCompact>;
  /** '' without a cache. */
  readonly cacheKey: string;
  readonly hit?: CachedVerification;
}

class Verifier implements IamAccessTokenVerifier {
  readonly #registry: IssuerRegistry;
  readonly #maxTokenLength: number;
  readonly #cache: ValidatedTokenCache | undefined;
  readonly #now: () => number;
  /** The last miss of `verifyCached`, for the `verify` call that follows it. */
  #miss: Lookup | undefined;

  constructor(options: AccessTokenVerifierOptions) {
    this.#now = options.now ?? Date.now;
    this.#registry = new IssuerRegistry(options.issuers, { now: this.#now });
    this.#maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
    this.#cache =
      options.cache === false ? undefined : new ValidatedTokenCache(options.cache ?? {}, this.#now);
  }

  async start(): Promise<void> {
    await Promise.all(this.#registry.list().map((r) => r.keySet?.start()));
  }

  ready(): boolean {
    return this.state().ready;
  }

  state(): VerifierState {
    const issuers = this.#registry.list().map((r): IssuerState => {
      const keySet = r.keySet?.state();
      return {
        issuer: r.config.issuer,
        format: r.config.format,
        ready: keySet ? keySet.usable : true,
        ...(keySet ? { keySet } : {}),
        ...(r.introspector ? { introspection: r.introspector.state() } : {}),
      };
    });
    return {
      ready: issuers.every((i) => i.ready),
      issuers,
      cache: this.#cache?.state() ?? { size: 0, bytes: 0, hits: 0, misses: 0 },
    };
  }

  checkContext(context: VerifyContext): void {
    if (typeof context?.resource !== 'string' || context.resource.length === 0) {
      throw new Error('VerifyContext.resource must be a non-empty string');
    }
    for (const iss of context.issuers ?? []) {
      if (!this.#registry.get(iss))
        throw new Error(`VerifyContext names issuer ${iss}, which is not configured`);
    }
    this.#registry.introspectionIssuer(context.issuers);
  }

  close(): void {
    for (const r of this.#registry.list()) r.keySet?.close();
  }

  #route(iss: unknown, context: VerifyContext): IssuerRuntime {
    if (typeof iss !== 'string')
      throw new InvalidTokenError('token_bad_issuer', 'claim "iss" is missing or not a string');
    const runtime = this.#registry.get(iss);
    if (!runtime || (context.issuers !== undefined && !context.issuers.includes(iss))) {
      throw new InvalidTokenError('token_unknown_issuer', 'token issuer is not trusted here');
    }
    return runtime;
  }

  /**
   * A valid cache hit for this context, or undefined. A miss is remembered for the `verify` call
   * that follows it for the same token and context, so the token is hashed and looked up once.
   */
  verifyCached(token: string, context: VerifyContext): VerifiedToken | undefined {
    const found = this.#lookup(token, context);
    if (found.hit) return found.hit;
    this.#miss = found;
    return undefined;
  }

  /** Checks `verify` makes first, then the cache; `cacheKey` is '' without a cache. */
  #lookup(token: string, context: VerifyContext): Lookup {
    if (typeof context?.resource !== 'string' || context.resource.length === 0) {
      throw new Error('VerifyContext.resource must be a non-empty string');
    }
    if (typeof token !== 'string' || token.length === 0) {
      throw new InvalidTokenError('token_malformed', 'token is empty');
    }
    if (token.length > this.#maxTokenLength) {
      throw new InvalidTokenError(
        'token_malformed',
        `token exceeds ${this.#maxTokenLength} characters`,
      );
    }
    const shape = splitCompact(token);
    if (typeof shape === 'number') return { token, context, shape, cacheKey: '' };

    const cacheKey = this.#cache ? tokenCacheKey(token) : '';
    const hit = this.#cache?.get(cacheKey);
    if (hit) {
      const runtime = this.#route(hit.principal.issuer, context);
      if (runtime.keySet && runtime.keySet.contains(hit.key) && runtime.keySet.usable()) {
        const leeway = runtime.config.clockToleranceSec;
        if (hit.principal.expiresAt > this.#now() / 1000 - leeway) {
          checkAudience(hit.principal.claims.aud, context);
          return { token, context, shape, cacheKey, hit };
        }
      }
      this.#cache?.delete(cacheKey);
    }
    return { token, context, shape, cacheKey };
  }

  // `async`: the lookup's throws become rejections.
  async verify(token: string, context: VerifyContext): Promise<Principal> {
    const miss = this.#miss;
    this.#miss = undefined;
    const found =
      miss !== undefined && miss.token === token && miss.context === context
        ? miss
        : this.#lookup(token, context);
    return (
      found.hit?.principal ?? this.#verifyUncached(token, context, found.shape, found.cacheKey)
    );
  }

  async #verifyUncached(
    token: string,
    context: VerifyContext,
    shape: ReturnType<typeof splitCompact>,
    cacheKey: string,
  ): Promise<Principal> {
    if (shape === 0) return this.#verifyOpaque(token, context, undefined);
    if (typeof shape === 'number') {
      throw new InvalidTokenError(
        'token_malformed',
        shape === 4
          ? 'JWE or multi-part tokens are not accepted'
          : 'token does not have three segments',
      );
    }

    const envelope = parseJwtEnvelope(token, this.#maxTokenLength);
    const runtime = this.#route(envelope.payload.iss, context);
    if (runtime.config.format === 'opaque') return this.#verifyOpaque(token, context, runtime);
    const keySet = runtime.keySet;
    if (!keySet) throw new InvalidTokenError('token_unknown_issuer', 'issuer has no key set');
    const verified = await verifyJwtForIssuer(
      token,
      envelope,
      runtime.config,
      keySet,
      this.#now() / 1000,
    );
    // The payload was parsed for this call alone (parseJwtEnvelope): frozen in place, not copied.
    const principal = buildPrincipal(
      verified.claims as Record<string, unknown>,
      runtime.config,
      'jwt',
      { claimsOwned: true },
    );
    this.#cache?.set(
      cacheKey,
      principal,
      verified.key,
      verified.exp,
      envelope.payloadLength * 2 + 512,
    );
    checkAudience(principal.claims.aud, context);
    return principal;
  }

  async #verifyOpaque(
    token: string,
    context: VerifyContext,
    routed: IssuerRuntime | undefined,
  ): Promise<Principal> {
    let runtime = routed;
    if (!runtime) {
      runtime = this.#registry.introspectionIssuer(context.issuers);
      if (!runtime) {
        throw new InvalidTokenError(
          'token_malformed',
          'token is not a JWT and no issuer of this resource introspects tokens',
        );
      }
    }
    const introspector = runtime.introspector;
    if (!introspector)
      throw new InvalidTokenError('token_unknown_issuer', 'issuer does not introspect tokens');
    const claims = await introspector.introspect(token);
    checkAudience(claims.aud, context);
    return buildPrincipal(claims as Record<string, unknown>, runtime.config, 'opaque', {
      subjectFallbackToClientId: true,
    });
  }
}

/**
 * Creates the access token verifier for a set of trusted issuers. Throws at once on invalid
 * configuration (e.g. an `HS256` algorithm, http to a non-loopback host).
 *
 * @example
 * ```ts
 * const verifier = createAccessTokenVerifier({
 *   issuers: [{ issuer: 'https://idp.example.com', algorithms: ['ES256'] }],
 * });
 * await verifier.start();
 * const principal = await verifier.verify(token, { resource: 'https://mcp.example.com/mcp' });
 * ```
 */
export function createAccessTokenVerifier(
  options: AccessTokenVerifierOptions,
): IamAccessTokenVerifier {
  return new Verifier(options);
}
