// The interaction endpoints oidc-provider sends the browser to: GET /interaction/:uid renders the
// login (with one-time code when MFA is required) or consent step; POSTs finish the step through
// the provider's documented interactionDetails / interactionFinished helpers.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';

import { ACR } from '../fixtures/defaults.js';
import { verifyTotp } from '../fixtures/totp.js';
import type { DevIdpUser } from '../fixtures/types.js';
import type { DevIdpState } from '../provider/state.js';
import { consentPage, errorPage, loginPage } from './html.js';

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

const MAX_FORM_BYTES = 16 * 1024;

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
  });
  res.end(html);
}

/** Reads an `application/x-www-form-urlencoded` body (capped at 16 KB). */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(buf);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function passwordMatches(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

function words(value: unknown): string[] {
  return typeof value === 'string' ? value.split(' ').filter(Boolean) : [];
}

/** True when the request asks only for acr values stronger than password. */
function mfaRequested(details: Interaction): boolean {
  const wanted = words(details.params.acr_values);
  return wanted.includes(ACR.mfa) && !wanted.includes(ACR.password);
}

/**
 * True when an existing session must re-authenticate: max_age exceeded (max_age=0 reaches the
 * provider as prompt=login) or prompt=login.
 */
function reauthentication(details: Interaction): boolean {
  const reasons = details.prompt.reasons;
  return (
    (reasons.includes('max_age') || reasons.includes('login_prompt')) &&
    Boolean(details.session?.accountId)
  );
}

/** Routes `/interaction/*` requests; answers 404 for anything else under that prefix. */
export class InteractionRoutes {
  readonly #state: DevIdpState;
  readonly #provider: () => Provider;

  constructor(state: DevIdpState, provider: () => Provider) {
    this.#state = state;
    this.#provider = provider;
  }

  /** Handles one request whose path starts with `/interaction/`. */
  async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/.exec(pathname);
    if (!match) return send(res, 404, errorPage('Not found'));
    const action = match[2];
    const method = req.method ?? 'GET';
    if ((action === undefined && method !== 'GET') || (action !== undefined && method !== 'POST')) {
      return send(res, 405, errorPage('Method not allowed'));
    }
    let details: Interaction;
    try {
      details = await this.#provider().interactionDetails(req, res);
    } catch {
      return send(
        res,
        400,
        errorPage('This sign-in request has expired or is unknown. Start again.'),
      );
    }
    if (details.uid !== match[1]) return send(res, 400, errorPage('Interaction mismatch.'));
    try {
      if (action === undefined) return await this.#show(req, res, details);
      if (action === 'abort') {
        return await this.#finish(req, res, {
          error: 'access_denied',
          error_description: 'End-User aborted interaction',
        });
      }
      const form = await readForm(req);
      if (action === 'login') return await this.#login(req, res, details, form);
      return await this.#consent(req, res, details);
    } catch (err) {
      return send(res, 400, errorPage(err instanceof Error ? err.message : 'Request failed'));
    }
  }

  /** Login and abort start afresh; consent merges with the login just submitted (max_age needs it). */
  async #finish(
    req: IncomingMessage,
    res: ServerResponse,
    result: InteractionResults,
    merge = false,
  ): Promise<void> {
    await this.#provider().interactionFinished(req, res, result, {
      mergeWithLastSubmission: merge,
    });
  }

  async #show(req: IncomingMessage, res: ServerResponse, details: Interaction): Promise<void> {
    const clientId = String(details.params.client_id);
    if (details.prompt.name === 'login') {
      const hint =
        typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
      const sessionUser = details.session?.accountId;
      const enrolled = sessionUser
        ? Boolean(this.#state.activeUser(sessionUser)?.totp_secret)
        : false;
      return send(
        res,
        200,
        loginPage({
          uid: details.uid,
          clientId,
          username: hint ?? sessionUser,
          otpRequired: mfaRequested(details) || (reauthentication(details) && enrolled),
        }),
      );
    }
    if (details.prompt.name === 'consent') {
      // First-party fixture clients are approved without showing the page; the grant is still
      // recorded through the provider's consent step.
      if (this.#state.client(clientId)?.first_party) return this.#consent(req, res, details);
      const d = details.prompt.details;
      const resourceScopes = (d.missingResourceScopes ?? {}) as Record<string, string[]>;
      return send(
        res,
        200,
        consentPage({
          uid: details.uid,
          clientId,
          scopes: [
            ...((d.missingOIDCScope as string[] | undefined) ?? []),
            ...Object.values(resourceScopes).flat(),
          ],
          resources: Object.keys(resourceScopes),
        }),
      );
    }
    return send(res, 400, errorPage(`Unsupported step ${details.prompt.name}`));
  }

  async #login(
    req: IncomingMessage,
    res: ServerResponse,
    details: Interaction,
    form: URLSearchParams,
  ): Promise<void> {
    if (details.prompt.name !== 'login') return send(res, 400, errorPage('Not a login step'));
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    const otp = (form.get('otp') ?? '').trim();
    const clientId = String(details.params.client_id);
    const user: DevIdpUser | undefined = this.#state.activeUser(username);
    const retry = (error: string, otpRequired: boolean) =>
      send(res, 401, loginPage({ uid: details.uid, clientId, username, otpRequired, error }));

    if (!user || !passwordMatches(user.password, password)) {
      return retry('Invalid user name or password.', mfaRequested(details));
    }
    const otpRequired =
      mfaRequested(details) || (reauthentication(details) && Boolean(user.totp_secret));
    let acr: string = ACR.password;
    let amr = ['pwd'];
    if (otp !== '') {
      if (!user.totp_secret || !verifyTotp(user.totp_secret, otp)) {
        return retry('Invalid one-time code.', true);
      }
      acr = ACR.mfa;
      amr = ['pwd', 'otp', 'mfa'];
    } else if (otpRequired) {
      if (user.totp_secret) return retry('A one-time code is required.', true);
      return this.#finish(req, res, {
        error: 'unmet_authentication_requirements',
        error_description: 'the user has no second factor enrolled',
      });
    }
    return this.#finish(req, res, {
      login: { accountId: username, acr, amr, remember: true },
    });
  }

  async #consent(req: IncomingMessage, res: ServerResponse, details: Interaction): Promise<void> {
    if (details.prompt.name !== 'consent') return send(res, 400, errorPage('Not a consent step'));
    const provider = this.#provider();
    const accountId = details.session?.accountId;
    if (!accountId) return send(res, 400, errorPage('No signed-in user'));
    const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    const grant =
      existing ?? new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    const d = details.prompt.details;
    const oidcScope = d.missingOIDCScope as string[] | undefined;
    if (oidcScope?.length) grant.addOIDCScope(oidcScope.join(' '));
    const claims = d.missingOIDCClaims as string[] | undefined;
    if (claims?.length) grant.addOIDCClaims(claims);
    const resourceScopes = (d.missingResourceScopes ?? {}) as Record<string, string[]>;
    for (const [indicator, scopes] of Object.entries(resourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    return this.#finish(req, res, existing ? { consent: {} } : { consent: { grantId } }, true);
  }
}
