import { McpIamError } from '@mcp-iam/core';
// Drives the development IdP's real authorization and interaction endpoints over HTTP, the way a
// browser would (manual redirects, a cookie jar, form posts), and returns the authorization code.
// Tests and the demo use it to log a user in without a browser.
import { createHash } from 'node:crypto';

/** Cookies kept between requests to one IdP (all share one host, so names are the key). */
export class CookieJar {
  #cookies = new Map<string, string>();

  /** Records the `Set-Cookie` headers of a response (expired or emptied cookies are dropped). */
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k = '', v = ''] = a.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'max-age') return Number(v) <= 0;
        if (key === 'expires') return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  /** The `Cookie` header value to send. */
  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** Options of {@link headlessLogin}. */
export interface HeadlessLoginOptions {
  /** Issuer URL of the development IdP. */
  issuer: string;
  clientId: string;
  /** Must match a registered redirect URI (loopback on any port for `demo-agent`). */
  redirectUri: string;
  user: string;
  password: string;
  /** One-time code, sent when the login page asks for it (or always, to reach acr `mfa`). */
  otp?: string;
  /** Space-separated scopes (`openid` is added when `acrValues` or `maxAge` is set). */
  scope: string;
  /** RFC 8707 resource indicator(s). */
  resource?: string | string[];
  /** `acr_values`, e.g. `mfa`. */
  acrValues?: string;
  /** `max_age` in seconds. */
  maxAge?: number;
  /** PKCE verifier; the S256 challenge is derived from it. */
  codeVerifier: string;
  /** `state`; default a fixed string. */
  state?: string;
  /** `prompt`, e.g. `login` or `consent`. */
  prompt?: string;
  /** Reuse a jar to keep the IdP session between logins (step-up tests). Default: a new jar. */
  cookies?: CookieJar;
  /** Extra authorization request parameters. */
  extraParams?: Record<string, string>;
}

/** The outcome of a headless login. */
export interface HeadlessLoginResult {
  code: string;
  state: string | undefined;
  /** RFC 9207 `iss` of the authorization response. */
  iss: string | undefined;
  /** The interaction steps that were shown, in order (e.g. `['login', 'consent']`; empty when the session was reused). */
  steps: string[];
  /** The jar, with the IdP session cookie. */
  cookies: CookieJar;
}

/** The authorization server answered with an error, or a page refused the input. */
export class HeadlessLoginError extends McpIamError<string> {
  /** `code`: the OAuth error code (from the redirect) or `login_failed` / `unexpected_response`. */
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'HeadlessLoginError';
  }
}

const MAX_HOPS = 20;

function formAction(html: string): { action: string; step: string } | undefined {
  const m = /<form method="post" action="([^"]+)" data-step="([a-z]+)"/.exec(html);
  return m ? { action: (m[1] as string).replace(/&amp;/g, '&'), step: m[2] as string } : undefined;
}

function pageError(html: string): string | undefined {
  return /data-error="([^"]*)"/.exec(html)?.[1];
}

/** S256 PKCE challenge of a verifier. */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/**
 * Logs a user in through the IdP's real endpoints and returns the authorization code.
 * Consent is approved when its page appears. Throws {@link HeadlessLoginError} when the IdP
 * redirects back with an error or the login page rejects the credentials.
 *
 * @example
 * const { code } = await headlessLogin({ issuer, clientId: 'demo-agent',
 *   redirectUri: 'http://127.0.0.1:9999/callback', user: 'alice', password: 'alice',
 *   otp: totpNow('alice'), acrValues: 'mfa', scope: 'crm.read',
 *   resource: 'http://127.0.0.1:5001/mcp', codeVerifier });
 */
export async function headlessLogin(options: HeadlessLoginOptions): Promise<HeadlessLoginResult> {
  const jar = options.cookies ?? new CookieJar();
  const state = options.state ?? 'headless-login';
  const authorize = new URL('/auth', options.issuer);
  const q = authorize.searchParams;
  q.set('client_id', options.clientId);
  q.set('response_type', 'code');
  q.set('redirect_uri', options.redirectUri);
  // The provider accepts acr_values and max_age only together with the openid scope (an OpenID
  // Connect rule), so the helper adds it when either is used.
  const scopes = options.scope.split(' ').filter(Boolean);
  const needsOpenid = options.acrValues !== undefined || options.maxAge !== undefined;
  if (needsOpenid && !scopes.includes('openid')) scopes.unshift('openid');
  q.set('scope', scopes.join(' '));
  q.set('state', state);
  q.set('code_challenge', pkceChallenge(options.codeVerifier));
  q.set('code_challenge_method', 'S256');
  for (const r of [options.resource ?? []].flat()) q.append('resource', r);
  if (options.acrValues) q.set('acr_values', options.acrValues);
  if (options.maxAge !== undefined) q.set('max_age', String(options.maxAge));
  if (options.prompt) q.set('prompt', options.prompt);
  for (const [k, v] of Object.entries(options.extraParams ?? {})) q.set(k, v);

  const { redirect, steps } = await followSignIn(authorize, options, jar);
  const p = redirect.searchParams;
  const error = p.get('error');
  if (error) throw new HeadlessLoginError(error, p.get('error_description') ?? error);
  const code = p.get('code');
  if (!code) throw new HeadlessLoginError('unexpected_response', 'redirect without code');
  return {
    code,
    state: p.get('state') ?? undefined,
    iss: p.get('iss') ?? undefined,
    steps,
    cookies: jar,
  };
}

/** Who signs in at the IdP's login page. */
export interface SignInCredentials {
  user: string;
  password: string;
  /** One-time code, sent with the login form when given. */
  otp?: string;
}

/**
 * Drives the IdP's pages from an authorization request, as a browser would, until the IdP
 * redirects to the request's `redirect_uri`: follows redirects with the jar's cookies, fills in
 * the login form and approves a consent page. Returns that redirect (with `code` or `error`) and
 * the interaction steps shown; the redirect itself is not requested.
 */
async function followSignIn(
  authorizationUrl: URL,
  credentials: SignInCredentials,
  jar: CookieJar,
): Promise<{ redirect: URL; steps: string[] }> {
  const redirectUri = authorizationUrl.searchParams.get('redirect_uri') ?? '';
  const steps: string[] = [];
  let next: { url: string; method: 'GET' | 'POST'; body?: URLSearchParams } = {
    url: authorizationUrl.href,
    method: 'GET',
  };
  for (let hop = 0; hop < MAX_HOPS; hop += 1) {
    const response = await fetch(next.url, {
      method: next.method,
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(next.body ? { body: next.body } : {}),
    });
    jar.store(response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const target = new URL(location, next.url);
      if (redirectUri !== '' && target.href.startsWith(redirectUri.split('?')[0] ?? '')) {
        return { redirect: target, steps };
      }
      next = { url: target.href, method: 'GET' };
      continue;
    }
    const html = await response.text();
    const form = formAction(html);
    if (!form) {
      throw new HeadlessLoginError(
        'unexpected_response',
        `unexpected ${response.status} from ${next.url}: ${pageError(html) ?? html.slice(0, 200)}`,
      );
    }
    if (next.method === 'POST' && form.step === 'login') {
      throw new HeadlessLoginError('login_failed', pageError(html) ?? 'login rejected');
    }
    steps.push(form.step);
    const body = new URLSearchParams();
    if (form.step === 'login') {
      body.set('username', credentials.user);
      body.set('password', credentials.password);
      if (credentials.otp !== undefined) body.set('otp', credentials.otp);
    }
    next = { url: new URL(form.action, next.url).href, method: 'POST', body };
  }
  throw new HeadlessLoginError('unexpected_response', 'too many redirects');
}

/**
 * Signs a user in for an authorization URL another program built (such as the one `mcp-iam
 * token` prints), as the person at the browser would, and returns the URL the IdP redirects to:
 * the client's `redirect_uri` with `code`, `state` and `iss`, or with `error`. Load that URL to
 * hand the code to the waiting client. Throws {@link HeadlessLoginError} when a page refuses the
 * input.
 *
 * @example
 * const callback = await signInAt(printedUrl, { user: 'alice', password: 'alice', otp: totpNow('alice') });
 * await fetch(callback);
 */
export async function signInAt(
  authorizationUrl: string | URL,
  credentials: SignInCredentials,
  cookies: CookieJar = new CookieJar(),
): Promise<URL> {
  return (await followSignIn(new URL(authorizationUrl), credentials, cookies)).redirect;
}
