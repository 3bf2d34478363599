/**
 * RFC 7662 token introspection for opaque access tokens, one client per issuer: client_secret_basic,
 * only a boolean `active: true` counts, `iss` (if present) must be the issuer, `exp` must not be
 * past. Answers are cached (positive ≤ min(exp, positiveTtlSec); negative briefly), concurrent
 * lookups of one token share one request, and any IdP failure is `introspection_unavailable`
 * (503), never an allow.
 */
import { createHash } from 'node:crypto';
import { InvalidTokenError, UnavailableError } from '../errors.js';
import { fetchText } from '../issuer/fetch.js';
import type { ResolvedIssuer } from '../issuer/options.js';
import { assertFetchableUrl } from '../issuer/url.js';
import { checkTimes } from './claims.js';

/** Most cached introspection answers per issuer (positive and negative together). */
export const MAX_INTROSPECTION_CACHE_ENTRIES = 10_000;

/** Counters for metrics. */
export interface IntrospectionState {
  /** Introspection requests sent. */
  readonly requests: number;
  /** Answers served from cache. */
  readonly cacheHits: number;
  /** Current cache entries. */
  readonly cacheSize: number;
  /** Failed requests (network, timeout, non-200). */
  readonly failures: number;
}

type Answer =
  { active: true; claims: Readonly<Record<string, unknown>> } | { active: false; reason: string };

/**
 * HTTP Basic credentials of an OAuth client (RFC 6749 §2.3.1: id and secret are form-urlencoded
 * before the Basic encoding). Returns the part after `Basic `.
 *
 * @example
 * ```ts
 * headers.authorization = `Basic ${basicCredentials('gateway', secret)}`;
 * ```
 */
export function basicCredentials(clientId: string, clientSecret: string): string {
  const enc = (v: string): string => encodeURIComponent(v).replace(/%20/g, '+');
  return Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64');
}

/**
 * Introspects tokens at one issuer's endpoint.
 *
 * @example
 * ```ts
 * const introspector = new TokenIntrospector(resolveIssuer({ issuer, introspection: { endpoint, clientId, clientSecret } }));
 * const claims = await introspector.introspect(opaqueToken); // then check the audience
 * ```
 */
export class TokenIntrospector {
  readonly #issuer: ResolvedIssuer;
  readonly #endpoint: URL;
  readonly #authorization: string;
  readonly #now: () => number;
  readonly #cache = new Map<string, { answer: Answer; until: number }>();
  readonly #inflight = new Map<string, Promise<Answer>>();
  #requests = 0;
  #cacheHits = 0;
  #failures = 0;

  constructor(issuer: ResolvedIssuer, options: { now?: () => number } = {}) {
    if (!issuer.introspection)
      throw new Error(`issuer ${issuer.issuer} has no introspection settings`);
    this.#issuer = issuer;
    this.#endpoint = assertFetchableUrl(
      issuer.introspection.endpoint,
      issuer.allowInsecureLoopbackHttp,
      'introspection.endpoint',
    );
    this.#authorization = `Basic ${basicCredentials(issuer.introspection.clientId, issuer.introspection.clientSecret)}`;
    this.#now = options.now ?? Date.now;
  }

  /** Counters and cache size. */
  state(): IntrospectionState {
    return {
      requests: this.#requests,
      cacheHits: this.#cacheHits,
      cacheSize: this.#cache.size,
      failures: this.#failures,
    };
  }

  /**
   * Returns the claims of an active token (not yet audience-checked). Rejects with
   * `InvalidTokenError` (`token_inactive`, `token_bad_issuer`, `token_expired`, ...) or
   * `UnavailableError('introspection_unavailable')`.
   */
  async introspect(token: string): Promise<Readonly<Record<string, unknown>>> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.#now();
    let answer: Answer;
    const cached = this.#cache.get(key);
    if (cached && cached.until > now) {
      this.#cacheHits++;
      answer = cached.answer;
    } else {
      if (cached) this.#cache.delete(key);
      let pending = this.#inflight.get(key);
      if (!pending) {
        pending = this.#request(token).finally(() => this.#inflight.delete(key));
        this.#inflight.set(key, pending);
        pending.then(
          (a) => this.#remember(key, a),
          () => undefined,
        );
      }
      answer = await pending;
    }
    if (!answer.active) throw new InvalidTokenError('token_inactive', answer.reason);
    // Time is re-checked on every use: a cached answer never outlives the token.
    checkTimes(answer.claims, this.#issuer, this.#now() / 1000, { requireIat: false });
    return answer.claims;
  }

  #remember(key: string, answer: Answer): void {
    const intro = this.#issuer.introspection as NonNullable<ResolvedIssuer['introspection']>;
    const now = this.#now();
    let until: number;
    if (answer.active) {
      until = now + intro.positiveTtlSec * 1000;
      const exp = answer.claims.exp;
      if (typeof exp === 'number') until = Math.min(until, exp * 1000);
    } else {
      until = now + intro.negativeTtlSec * 1000;
    }
    if (until <= now) return;
    if (this.#cache.size >= MAX_INTROSPECTION_CACHE_ENTRIES) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(key, { answer, until });
  }

  #unavailable(message: string, cause?: unknown): UnavailableError {
    this.#failures++;
    return new UnavailableError('introspection_unavailable', message, { cause, retryAfter: 5 });
  }

  async #request(token: string): Promise<Answer> {
    this.#requests++;
    let res: { status: number; text: string };
    try {
      res = await fetchText(
        this.#endpoint,
        {
          method: 'POST',
          headers: {
            authorization: this.#authorization,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        },
        this.#issuer.fetchTimeoutMs,
      );
    } catch (cause) {
      throw this.#unavailable(`introspection at ${this.#issuer.issuer} failed`, cause);
    }
    if (res.status !== 200) {
      throw this.#unavailable(`introspection at ${this.#issuer.issuer} answered ${res.status}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      return { active: false, reason: 'introspection response is not JSON' };
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return { active: false, reason: 'introspection response is not a JSON object' };
    }
    const claims = body as Record<string, unknown>;
    if (claims.active !== true) return { active: false, reason: 'token is not active' };
    if (typeof claims.token_type === 'string' && /refresh/i.test(claims.token_type)) {
      throw new InvalidTokenError('token_bad_type', 'introspected token is a refresh token');
    }
    if (claims.iss !== undefined && claims.iss !== this.#issuer.issuer) {
      throw new InvalidTokenError(
        'token_bad_issuer',
        'introspection "iss" does not match the issuer',
      );
    }
    return { active: true, claims: Object.freeze(claims) };
  }
}
