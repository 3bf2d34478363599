/**
 * How the example servers describe the verified caller in their results: subject, client, actor
 * chain and authentication strength, read from the principal `@mcp-iam/core` attached to the
 * SDK's `AuthInfo`.
 */
import { actorChain, type Principal } from '@mcp-iam/core';

/** The facts about a caller that the example servers show and record. */
export interface CallerSummary {
  /** The user or machine the token was issued for (`sub`). */
  readonly subject: string;
  /** The OAuth client that holds the token. */
  readonly clientId: string;
  /** Services acting for the subject, current actor first (RFC 8693 `act`). */
  readonly actorChain: readonly string[];
  /** Authentication context class (`pwd`, `mfa`), when the token has one. */
  readonly acr?: string;
  /** Granted scopes. */
  readonly scopes: readonly string[];
}

/** Reduces a principal to a {@link CallerSummary}; `undefined` when the request carried none. */
export function summarizeCaller(principal: Principal | undefined): CallerSummary | undefined {
  if (!principal) return undefined;
  return {
    subject: principal.subject,
    clientId: principal.clientId,
    actorChain: actorChain(principal),
    ...(principal.acr !== undefined ? { acr: principal.acr } : {}),
    scopes: [...principal.scopes],
  };
}

/** One line of plain text, e.g. `caller alice · client demo-agent · via insights-server · acr mfa`. */
export function describeCaller(caller: CallerSummary | undefined): string {
  if (!caller) return 'caller unknown';
  const parts = [`caller ${caller.subject}`, `client ${caller.clientId}`];
  parts.push(caller.actorChain.length ? `via ${caller.actorChain.join(' ← ')}` : 'no actor');
  if (caller.acr) parts.push(`acr ${caller.acr}`);
  return parts.join(' · ');
}
