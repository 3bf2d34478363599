/**
 * Plays the person's browser against the development IdP for a given authorization URL: follows
 * redirects by hand with a cookie jar, fills in the login form (user, password and, when given,
 * the one-time code) and approves a consent page, until the IdP redirects to the client's
 * loopback callback. The form conventions are those of the dev IdP's own headless login.
 */
import { CookieJar } from '@mcp-iam/dev-idp';

/** The person signing in. */
export interface Person {
  readonly user: string;
  readonly password: string;
  /** One-time code, sent with the login form when present. */
  readonly otp?: string;
}

const MAX_HOPS = 20;

function formOf(html: string): { action: string; step: string } | undefined {
  const match = /<form method="post" action="([^"]+)" data-step="([a-z]+)"/.exec(html);
  if (!match) return undefined;
  return { action: (match[1] ?? '').replace(/&amp;/g, '&'), step: match[2] ?? '' };
}

/**
 * Signs `person` in at the IdP for `authorizationUrl` and returns the URL the IdP finally
 * redirects to (the client's `redirect_uri` with `code`, `state` and `iss`, or with `error`).
 * The callback itself is not requested.
 */
export async function signIn(
  authorizationUrl: string | URL,
  person: Person,
  cookies: CookieJar = new CookieJar(),
): Promise<URL> {
  const start = new URL(authorizationUrl);
  const redirectUri = start.searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('the authorization URL has no redirect_uri');
  let next: { url: string; body?: URLSearchParams } = { url: start.href };
  for (let hop = 0; hop < MAX_HOPS; hop += 1) {
    const response = await fetch(next.url, {
      method: next.body ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: cookies.header(),
        ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(next.body ? { body: next.body } : {}),
    });
    cookies.store(response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const target = new URL(location, next.url);
      if (`${target.origin}${target.pathname}` === redirectUri) return target;
      next = { url: target.href };
      continue;
    }
    const html = await response.text();
    const form = formOf(html);
    if (!form) throw new Error(`unexpected HTTP ${response.status} page at ${next.url}`);
    if (next.body && form.step === 'login') throw new Error('the IdP refused the sign-in');
    const body = new URLSearchParams();
    if (form.step === 'login') {
      body.set('username', person.user);
      body.set('password', person.password);
      if (person.otp !== undefined) body.set('otp', person.otp);
    }
    next = { url: new URL(form.action, next.url).href, body };
  }
  throw new Error('too many redirects during sign-in');
}
