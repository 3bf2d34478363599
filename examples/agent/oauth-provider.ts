/**
 * The demo agent's OAuth client for the official MCP SDK: an `OAuthClientProvider` for the
 * pre-registered public client `demo-agent` (authorization code + PKCE, loopback redirect). The
 * SDK does the protocol work (reads `resource_metadata` from a 401, fetches RFC 9728 and RFC 8414
 * metadata, builds the PKCE authorization request, redeems the code, refreshes); this provider
 * plays the person at the browser: `redirectToAuthorization` signs in on the development IdP's
 * real login pages with `headlessLogin`. It also reacts to challenges the SDK does not handle by
 * itself: on `insufficient_user_authentication` (RFC 9470) it asks for the requested `acr` and
 * `max_age` and signs in again with the one-time code; on `insufficient_scope` it drops the token
 * so the SDK asks for the wider scope instead of refreshing the narrow one. It keeps what the
 * SDK discovered (RFC 9728 and RFC 8414 metadata), so the metadata is fetched once per provider,
 * not again when the code is redeemed or a later challenge starts a new sign-in: use one provider
 * per MCP server.
 */
import { randomBytes } from 'node:crypto';
import type {
  OAuthClientProvider,
  OAuthDiscoveryState,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { CookieJar, headlessLogin } from '@mcp-iam/dev-idp';
import { challengeParams, type HttpEvent } from './recorder.js';

/** Options of {@link DemoAgentOAuthProvider}. */
export interface DemoAgentOAuthOptions {
  /** The development IdP's issuer identifier. */
  issuer: string;
  /** Who signs in, and their password. */
  user: string;
  password: string;
  /** Returns the user's current one-time code (for MFA); without it, MFA sign-ins fail. */
  otp?: () => string;
  /** Client id (default `demo-agent`). */
  clientId?: string;
  /** Loopback redirect URI (default `http://127.0.0.1:53682/callback`). */
  redirectUrl?: string;
  /** IdP session cookies, shared between providers of the same person. Default: a new jar. */
  cookies?: CookieJar;
  /** Receives one plain-language line per thing the provider does. */
  log?: (line: string) => void;
}

/** An `OAuthClientProvider` that signs a development user in without a browser. */
export class DemoAgentOAuthProvider implements OAuthClientProvider {
  readonly #options: DemoAgentOAuthOptions;
  readonly #cookies: CookieJar;
  #tokens: OAuthTokens | undefined;
  #codeVerifier: string | undefined;
  #pendingCode: string | undefined;
  #scopes = new Set<string>();
  #acrValues: string | undefined;
  #maxAge: number | undefined;
  #discovery: OAuthDiscoveryState | undefined;
  #discoveryReused = false;

  constructor(options: DemoAgentOAuthOptions) {
    this.#options = options;
    this.#cookies = options.cookies ?? new CookieJar();
  }

  /** The IdP session cookies (share them to sign in once for several servers). */
  get cookies(): CookieJar {
    return this.#cookies;
  }

  get redirectUrl(): string {
    return this.#options.redirectUrl ?? 'http://127.0.0.1:53682/callback';
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'mcp-iam demo agent',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state(): string {
    return randomBytes(16).toString('base64url');
  }

  clientInformation(): OAuthClientInformationMixed {
    return { client_id: this.#options.clientId ?? 'demo-agent' };
  }

  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
    for (const s of (tokens.scope ?? '').split(' ').filter(Boolean)) this.#scopes.add(s);
    this.#log(`receives an access token (scope "${tokens.scope ?? ''}")`);
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.#codeVerifier = codeVerifier;
  }

  codeVerifier(): string {
    if (!this.#codeVerifier) throw new Error('no PKCE verifier saved');
    return this.#codeVerifier;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.#codeVerifier = undefined;
    if (scope === 'all' || scope === 'discovery') {
      this.#discovery = undefined;
      this.#discoveryReused = false;
    }
  }

  /** Keeps the metadata the SDK discovered for this provider's server. */
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }

  /** The metadata discovered before, so the SDK does not fetch it again. */
  discoveryState(): OAuthDiscoveryState | undefined {
    if (this.#discovery && !this.#discoveryReused) {
      this.#discoveryReused = true;
      this.#log('keeps the server and IdP metadata it discovered: no second fetch of either');
    }
    return this.#discovery;
  }

  /**
   * The person's part of the authorization request: sign in on the IdP's pages (reusing the IdP
   * session when there is one) and keep the authorization code for {@link takeAuthorizationCode}.
   */
  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    const q = authorizationUrl.searchParams;
    for (const s of (q.get('scope') ?? '').split(' ').filter(Boolean)) this.#scopes.add(s);
    this.#scopes.delete('openid');
    const scope = [...this.#scopes].join(' ');
    const state = q.get('state') ?? undefined;
    const resource = q.getAll('resource');
    const mfa = this.#acrValues !== undefined;
    this.#log(
      `opens the IdP's sign-in page as ${this.#options.user} (authorization code + PKCE S256, resource ${resource.join(' ')}, scope "${scope}"${mfa ? `, acr_values ${this.#acrValues}` : ''})`,
    );
    const result = await headlessLogin({
      issuer: this.#options.issuer,
      clientId: this.#options.clientId ?? 'demo-agent',
      redirectUri: this.redirectUrl,
      user: this.#options.user,
      password: this.#options.password,
      ...(mfa && this.#options.otp ? { otp: this.#options.otp() } : {}),
      ...(this.#acrValues !== undefined ? { acrValues: this.#acrValues } : {}),
      ...(this.#maxAge !== undefined ? { maxAge: this.#maxAge } : {}),
      scope,
      resource,
      codeVerifier: this.codeVerifier(),
      ...(state !== undefined ? { state } : {}),
      cookies: this.#cookies,
    });
    if (result.state !== state) throw new Error('the authorization response carried another state');
    if (result.iss !== undefined && result.iss !== this.#options.issuer) {
      throw new Error('the authorization response came from another issuer');
    }
    this.#log(
      result.steps.includes('login')
        ? `enters ${mfa ? 'password and one-time code' : 'the password'} on the login page; the IdP redirects back with a code`
        : 'is still signed in at the IdP (session cookie); the IdP redirects back with a code',
    );
    this.#pendingCode = result.code;
  }

  /** The authorization code of the last sign-in, once; `undefined` when there is none. */
  takeAuthorizationCode(): string | undefined {
    const code = this.#pendingCode;
    this.#pendingCode = undefined;
    return code;
  }

  /**
   * Reacts to a resource server's challenge before the SDK handles the answer: a step-up
   * challenge sets `acr_values`/`max_age` for the next sign-in; both it and `insufficient_scope`
   * drop the current token, so the SDK starts a new authorization instead of a refresh (which
   * would return the same scope and authentication strength).
   */
  observe(response: Response, event: HttpEvent): void {
    const params = challengeParams(event.challenge);
    const error = params.get('error');
    if (response.status === 401 && error === 'insufficient_user_authentication') {
      this.#acrValues = params.get('acr_values') ?? 'mfa';
      const maxAge = Number(params.get('max_age'));
      this.#maxAge = Number.isFinite(maxAge) && params.has('max_age') ? maxAge : undefined;
      this.#tokens = undefined;
      this.#log(
        `reads the step-up challenge: the server wants acr "${this.#acrValues}"${this.#maxAge !== undefined ? ` within ${this.#maxAge} s` : ''}, so a new sign-in is needed`,
      );
    } else if (response.status === 403 && error === 'insufficient_scope') {
      this.#tokens = undefined;
      this.#log(
        `reads the challenge: the server wants scope "${params.get('scope') ?? ''}", so it asks for a wider token`,
      );
    }
  }

  #log(line: string): void {
    this.#options.log?.(`${this.#options.user}'s agent ${line}`);
  }
}
