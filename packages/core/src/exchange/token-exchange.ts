/**
 * RFC 8693 token exchange client: trade the caller's access token (the `subject_token`) at the
 * IdP's token endpoint for a token audience-restricted to another MCP server, on the caller's
 * behalf. The response is checked (issued token type, bearer, scope not wider than asked, JWT
 * `aud` equal to the target), cached per caller and target until shortly before expiry, and
 * fetched at most once at a time per cache key. The caller's token goes nowhere else.
 */
import { createHash } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { decodeJwt } from 'jose';
import { McpIamError, UnavailableError } from '../errors.js';

/** RFC 8693 grant type. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 8693 token type of an access token. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** How the exchanging client authenticates at the token endpoint. */
export type ExchangeClientAuth =
  | { readonly method: 'client_secret_basic'; readonly clientSecret: string }
  | {
      readonly method: 'private_key_jwt';
      /** Asymmetric private key (e.g. from `jose.importPKCS8` or `generateKeyPair`). */
      readonly privateKey: oauth.PrivateKey['key'];
      /** `kid` of the key as registered at the IdP. */
      readonly kid?: string;
    };

/** Options of `createTokenExchangeClient`. */
export interface TokenExchangeClientOptions {
  /** Issuer identifier of the IdP (its metadata gives the token endpoint). */
  readonly issuer: string;
  /** Token endpoint; default: discovered from the issuer's RFC 8414 / OIDC metadata. */
  readonly tokenEndpoint?: string;
  /** This service's client id at the IdP. */
  readonly clientId: string;
  readonly clientAuth: ExchangeClientAuth;
  /** Allow `http:` URLs for loopback hosts only (development, tests). Default false. */
  readonly allowInsecureLoopbackHttp?: boolean;
  /** Timeout of each IdP request in ms. Default 5000. */
  readonly timeoutMs?: number;
  /** Seconds before expiry at which a cached token is no longer used. Default 30. */
  readonly leewaySec?: number;
  /** Most cached tokens (least recently used evicted). Default 1000. */
  readonly maxCacheEntries?: number;
  /** Clock in ms. Default `Date.now`. */
  readonly now?: () => number;
}

/** One exchange request. At least one of `audience` and `resource` is required. */
export interface TokenExchangeRequest {
  /** The caller's access token (sent only as `subject_token` to the token endpoint). */
  readonly subjectToken: string;
  /** Logical audience of the wanted token (RFC 8693 `audience`). */
  readonly audience?: string;
  /** Resource URL of the target MCP server (RFC 8707 `resource`). */
  readonly resource?: string;
  /** Scopes wanted (space-separated string or list). */
  readonly scope?: string | readonly string[];
  /** Optional actor token (RFC 8693 `actor_token`), e.g. this service's own token. */
  readonly actorToken?: string;
  /** Type of `actorToken`. Default access token. */
  readonly actorTokenType?: string;
  /**
   * The caller's {@link principalKey}. Part of the cache key, beside the subject token's hash, so
   * an entry serves only the principal it was exchanged for (row 81).
   */
  readonly principalKey?: string;
}

/** An exchanged token. Send it only to the audience it was issued for. */
export interface ExchangedToken {
  readonly accessToken: string;
  /** Expiry, seconds since epoch, when known. */
  readonly expiresAt?: number;
  /** Granted scopes (the requested ones when the IdP did not say). */
  readonly scopes: readonly string[];
  readonly issuedTokenType: string;
}

interface CacheEntry {
  readonly token: ExchangedToken;
  readonly usableUntil: number;
}

const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

function scopeList(scope: TokenExchangeRequest['scope']): string[] {
  if (scope === undefined) return [];
  const list = typeof scope === 'string' ? scope.split(' ') : [...scope];
  return [...new Set(list.filter((s) => s.length > 0))].sort();
}

function isLoopback(url: URL): boolean {
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** An RFC 8693 token exchange client. Create with `createTokenExchangeClient`. */
export class TokenExchangeClient {
  readonly #options: TokenExchangeClientOptions;
  readonly #client: oauth.Client;
  readonly #auth: oauth.ClientAuth;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<ExchangedToken>>();
  #server: Promise<oauth.AuthorizationServer> | undefined;
  #cacheHits = 0;
  #cacheMisses = 0;

  constructor(options: TokenExchangeClientOptions) {
    this.#options = options;
    this.#client = { client_id: options.clientId };
    this.#auth =
      options.clientAuth.method === 'client_secret_basic'
        ? oauth.ClientSecretBasic(options.clientAuth.clientSecret)
        : oauth.PrivateKeyJwt({
            key: options.clientAuth.privateKey,
            ...(options.clientAuth.kid !== undefined ? { kid: options.clientAuth.kid } : {}),
          });
    for (const url of [options.issuer, options.tokenEndpoint]) {
      if (url !== undefined) this.#checkUrl(new URL(url));
    }
  }

  /** Number of cached tokens (for metrics and tests). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /** Cache lookups so far (monotonic; for metrics). */
  get cacheStats(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#cacheHits, misses: this.#cacheMisses };
  }

  /**
   * Exchanges `subjectToken` for a token for `audience` / `resource`, from the cache when a
   * usable one exists. Rejects with `UnavailableError('token_exchange_failed')` when the IdP is
   * unreachable or answers 5xx, `McpIamError('token_exchange_failed')` when it refuses (4xx), and
   * `McpIamError('token_exchange_invalid')` when its answer fails the checks.
   *
   * @example
   * ```ts
   * const { accessToken } = await exchange.exchange({ subjectToken: allow.token,
   *   audience: 'https://crm.example.com/mcp', scope: 'crm.read' });
   * ```
   */
  async exchange(request: TokenExchangeRequest): Promise<ExchangedToken> {
    if (request.audience === undefined && request.resource === undefined) {
      throw new TypeError('token exchange needs an audience or a resource');
    }
    const scopes = scopeList(request.scope);
    // A JSON array: no two requests produce the same key, whatever their strings hold.
    const key = JSON.stringify([
      request.principalKey ?? null,
      sha256(request.subjectToken),
      request.audience ?? null,
      request.resource ?? null,
      scopes,
      request.actorToken === undefined ? null : sha256(request.actorToken),
    ]);
    const now = this.#nowSec();
    const cached = this.#cache.get(key);
    if (cached && cached.usableUntil > now) {
      this.#cacheHits++;
      this.#cache.delete(key);
      this.#cache.set(key, cached);
      return cached.token;
    }
    this.#cacheMisses++;
    if (cached) this.#cache.delete(key);
    const running = this.#inflight.get(key);
    if (running) return running;
    const promise = this.#fetch(request, scopes).then((token) => {
      this.#remember(key, token);
      return token;
    });
    this.#inflight.set(key, promise);
    try {
      return await promise;
    } finally {
      this.#inflight.delete(key);
    }
  }

  #nowSec(): number {
    return Math.floor((this.#options.now ?? Date.now)() / 1000);
  }

  #checkUrl(url: URL): void {
    if (url.protocol === 'https:') return;
    if (
      url.protocol === 'http:' &&
      this.#options.allowInsecureLoopbackHttp === true &&
      isLoopback(url)
    )
      return;
    throw new TypeError(`refusing non-https IdP URL ${url.origin}`);
  }

  #httpOptions(url: string): { signal: AbortSignal; [oauth.allowInsecureRequests]?: boolean } {
    const insecure = new URL(url).protocol === 'http:';
    return {
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5000),
      ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}),
    };
  }

  async #authorizationServer(): Promise<oauth.AuthorizationServer> {
    const o = this.#options;
    if (o.tokenEndpoint !== undefined) return { issuer: o.issuer, token_endpoint: o.tokenEndpoint };
    this.#server ??= (async () => {
      const issuer = new URL(o.issuer);
      let lastError: unknown;
      for (const algorithm of ['oauth2', 'oidc'] as const) {
        try {
          const response = await oauth.discoveryRequest(issuer, {
            algorithm,
            ...this.#httpOptions(o.issuer),
          });
          const as = await oauth.processDiscoveryResponse(issuer, response);
          if (typeof as.token_endpoint !== 'string')
            throw new Error('metadata has no token_endpoint');
          this.#checkUrl(new URL(as.token_endpoint));
          return as;
        } catch (error) {
          lastError = error;
        }
      }
      throw new UnavailableError('token_exchange_failed', 'token endpoint discovery failed', {
        cause: lastError,
      });
    })();
    try {
      return await this.#server;
    } catch (error) {
      this.#server = undefined;
      throw error;
    }
  }

  async #fetch(request: TokenExchangeRequest, scopes: string[]): Promise<ExchangedToken> {
    const as = await this.#authorizationServer();
    const params = new URLSearchParams({
      subject_token: request.subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
    });
    if (request.audience !== undefined) params.set('audience', request.audience);
    if (request.resource !== undefined) params.set('resource', request.resource);
    if (scopes.length > 0) params.set('scope', scopes.join(' '));
    if (request.actorToken !== undefined) {
      params.set('actor_token', request.actorToken);
      params.set('actor_token_type', request.actorTokenType ?? ACCESS_TOKEN_TYPE);
    }

    let response: Response;
    try {
      response = await oauth.genericTokenEndpointRequest(
        as,
        this.#client,
        this.#auth,
        TOKEN_EXCHANGE_GRANT,
        params,
        this.#httpOptions(as.token_endpoint!),
      );
    } catch (error) {
      throw new UnavailableError('token_exchange_failed', 'token endpoint unreachable', {
        cause: error,
      });
    }
    if (response.status >= 500) {
      const retry = Number(response.headers.get('retry-after'));
      await response.body?.cancel().catch(() => undefined);
      throw new UnavailableError(
        'token_exchange_failed',
        `token endpoint answered ${response.status}`,
        {
          ...(Number.isFinite(retry) && retry > 0 ? { retryAfter: retry } : {}),
        },
      );
    }
    let result: oauth.TokenEndpointResponse;
    try {
      result = await oauth.processGenericTokenEndpointResponse(as, this.#client, response);
    } catch (error) {
      if (error instanceof oauth.ResponseBodyError) {
        throw new McpIamError('token_exchange_failed', `token exchange refused: ${error.error}`, {
          cause: error,
        });
      }
      throw new McpIamError('token_exchange_invalid', 'token exchange response is not valid', {
        cause: error,
      });
    }
    return this.#validate(result, request, scopes);
  }

  #validate(
    result: oauth.TokenEndpointResponse,
    request: TokenExchangeRequest,
    asked: string[],
  ): ExchangedToken {
    const invalid = (why: string): McpIamError =>
      new McpIamError('token_exchange_invalid', `token exchange response ${why}`);
    if (result['issued_token_type'] !== ACCESS_TOKEN_TYPE)
      throw invalid('has a wrong issued_token_type');
    if (result.token_type !== 'bearer') throw invalid('is not a Bearer token');
    let scopes = asked;
    if (typeof result.scope === 'string') {
      const granted = scopeList(result.scope);
      if (asked.length > 0 && granted.some((s) => !asked.includes(s)))
        throw invalid('grants a wider scope than asked');
      scopes = granted;
    }
    const now = this.#nowSec();
    let expiresAt = typeof result.expires_in === 'number' ? now + result.expires_in : undefined;
    if (result.access_token.split('.').length === 3) {
      let claims: ReturnType<typeof decodeJwt>;
      try {
        claims = decodeJwt(result.access_token);
      } catch {
        claims = {};
      }
      if (Object.keys(claims).length > 0) {
        const targets = [request.audience, request.resource].filter(
          (t): t is string => t !== undefined,
        );
        const aud =
          typeof claims.aud === 'string'
            ? [claims.aud]
            : Array.isArray(claims.aud)
              ? claims.aud
              : [];
        if (aud.length === 0 || aud.some((a) => !targets.includes(a)))
          throw invalid('has a wrong aud');
        if (typeof claims.exp === 'number')
          expiresAt = expiresAt === undefined ? claims.exp : Math.min(expiresAt, claims.exp);
      }
    }
    return Object.freeze({
      accessToken: result.access_token,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      scopes: Object.freeze([...scopes]),
      issuedTokenType: ACCESS_TOKEN_TYPE,
    });
  }

  #remember(key: string, token: ExchangedToken): void {
    if (token.expiresAt === undefined) return;
    const usableUntil = token.expiresAt - (this.#options.leewaySec ?? 30);
    if (usableUntil <= this.#nowSec()) return;
    this.#cache.set(key, { token, usableUntil });
    const max = this.#options.maxCacheEntries ?? 1000;
    while (this.#cache.size > max) this.#cache.delete(this.#cache.keys().next().value!);
  }
}

/**
 * Creates a token exchange client for calling another MCP server on the caller's behalf.
 *
 * @example
 * ```ts
 * const exchange = createTokenExchangeClient({
 *   issuer: 'https://idp.example.com', clientId: 'insights',
 *   clientAuth: { method: 'client_secret_basic', clientSecret: process.env.SECRET! },
 * });
 * const { accessToken } = await exchange.exchange({ subjectToken, resource: 'https://crm.example.com/mcp', scope: 'crm.read' });
 * ```
 */
export function createTokenExchangeClient(
  options: TokenExchangeClientOptions,
): TokenExchangeClient {
  return new TokenExchangeClient(options);
}
