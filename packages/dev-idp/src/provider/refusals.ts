// An authorization request the IdP cannot send back to its client (a redirect_uri not registered
// for the client, an unknown client) ends on an error page in the browser, while the client,
// waiting at its redirect URI, hears nothing. This module writes one line per such refusal to the
// IdP's log, naming the client and the refused redirect URI, so the developer sees why the
// sign-in never came back.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import type { DevIdpFixtures } from '../fixtures/types.js';

/** Where the IdP writes lines a developer must see. */
export type DevIdpLog = (line: string) => void;

const ADVICE = 'a fixture file (--config, see docs/dev-idp.md) changes the clients';

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The authorization request's parameters as sent (query for GET, form for POST). */
function requestParams(ctx: KoaContextWithOIDC): Record<string, unknown> {
  const parsed = ctx.oidc.params as Record<string, unknown> | undefined;
  if (parsed) return parsed;
  const body = ctx.oidc.body as Record<string, unknown> | undefined;
  return ctx.method === 'POST' && body ? body : (ctx.query as Record<string, unknown>);
}

/** The registered URIs, `(any port)` after loopback ones, which match on any port (RFC 8252). */
function describeRegistered(uris: readonly string[]): string {
  if (uris.length === 0) return 'none';
  const loopback = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)[:/]/;
  return uris.map((uri) => (loopback.test(uri) ? `${uri} (any port)` : uri)).join(', ');
}

/**
 * The log line for an authorization request refused with `error` that the browser shows instead
 * of the client: a redirect_uri not registered for the client, or an unknown or missing client.
 * Undefined for any other refusal: those go back to the client, which reports them itself.
 */
export function refusalLine(
  fixtures: DevIdpFixtures,
  error: string,
  params: Record<string, unknown>,
): string | undefined {
  const clientId = text(params.client_id);
  const redirectUri = text(params.redirect_uri) ?? '(none)';
  const client =
    clientId !== undefined && Object.hasOwn(fixtures.clients, clientId)
      ? fixtures.clients[clientId]
      : undefined;
  if (client === undefined) {
    const who = clientId === undefined ? 'without client_id' : `of unknown client ${clientId}`;
    const known = Object.keys(fixtures.clients).join(', ');
    return `dev-idp: refused an authorization request ${who} (redirect_uri ${redirectUri}); clients: ${known}; ${ADVICE}`;
  }
  if (error !== 'invalid_redirect_uri') return undefined;
  return (
    `dev-idp: refused an authorization request of client ${clientId}: redirect_uri ` +
    `${redirectUri} is not registered for it (registered: ` +
    `${describeRegistered(client.redirect_uris ?? [])}); ${ADVICE}`
  );
}

/** Logs every authorization request the provider refuses on a page instead of at the client. */
export function logRefusedAuthorizations(
  provider: Provider,
  fixtures: DevIdpFixtures,
  log: DevIdpLog,
): void {
  provider.on('authorization.error', (ctx, error) => {
    const line = refusalLine(fixtures, error.error, requestParams(ctx));
    if (line !== undefined) log(line);
  });
}
