/**
 * The demo agent: connects the official MCP SDK client to a protected MCP server as a person
 * (authorization code + PKCE through {@link DemoAgentOAuthProvider}), with a token it already has,
 * or as a machine (client credentials with `private_key_jwt`, the SDK's `PrivateKeyJwtProvider`).
 * Sign-ins that the SDK starts mid-call (first connection, wider scope, step-up) are finished here
 * and the call is retried, as an interactive client would after the browser comes back.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  UnauthorizedError,
  type OAuthClientProvider,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { PrivateKeyJwtProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { NIGHTLY_SYNC_PRIVATE_JWK } from '@mcp-iam/dev-idp';
import type { DemoAgentOAuthProvider } from './oauth-provider.js';
import type { HttpRecorder } from './recorder.js';

/** A connected MCP client and its transport. */
export interface AgentSession {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  close(): Promise<void>;
}

const MAX_SIGN_INS = 3;

function session(client: Client, transport: StreamableHTTPClientTransport): AgentSession {
  return { client, transport, close: () => client.close() };
}

function newClient(): Client {
  return new Client({ name: 'mcp-iam-demo-agent', version: '1.0.0' });
}

/**
 * Connects to `url` as the provider's person. Without a token the server answers 401; the SDK
 * discovers the IdP from the challenge and starts a sign-in, which the provider completes; the
 * code is redeemed (`finishAuth`) and the connection is made again with the new token.
 */
export async function connectWithSignIn(
  url: string,
  provider: DemoAgentOAuthProvider,
  recorder: HttpRecorder,
): Promise<AgentSession> {
  const fetchFn = recorder.observedFetch((response, event) => provider.observe(response, event));
  for (let attempt = 0; ; attempt += 1) {
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      authProvider: provider,
      fetch: fetchFn,
    });
    const client = newClient();
    try {
      await client.connect(transport);
      return session(client, transport);
    } catch (error) {
      await client.close().catch(() => undefined);
      const code = provider.takeAuthorizationCode();
      if (!(error instanceof UnauthorizedError) || !code || attempt >= MAX_SIGN_INS) throw error;
      recorder.note('the agent redeems the code at the token endpoint (with its PKCE verifier)');
      await transport.finishAuth(code);
      recorder.note('the agent connects again, now with the token');
    }
  }
}

/**
 * Calls a tool on a session made by {@link connectWithSignIn}; when the server's challenge makes
 * the SDK start a new sign-in (wider scope, step-up), finishes it and calls again.
 */
export async function callToolWithSignIn(
  agent: AgentSession,
  provider: DemoAgentOAuthProvider,
  recorder: HttpRecorder,
  name: string,
  args: Record<string, unknown>,
): Promise<string> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return toolText(await agent.client.callTool({ name, arguments: args }));
    } catch (error) {
      const code = provider.takeAuthorizationCode();
      if (!(error instanceof UnauthorizedError) || !code || attempt >= MAX_SIGN_INS) throw error;
      recorder.note('the agent redeems the code at the token endpoint (with its PKCE verifier)');
      await agent.transport.finishAuth(code);
      recorder.note(`the agent calls ${name} again with the new token`);
    }
  }
}

/** Connects to `url` sending `token` as the bearer token (no sign-in on failure). */
export async function connectWithToken(
  url: string,
  token: string,
  recorder: HttpRecorder,
): Promise<AgentSession> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: recorder.fetch,
  });
  const client = newClient();
  await client.connect(transport);
  return session(client, transport);
}

/**
 * Connects with an SDK OAuth provider that needs no person (client credentials): on the 401 the
 * SDK discovers the IdP, gets a token and retries by itself.
 */
export async function connectAsMachine(
  url: string,
  provider: OAuthClientProvider,
  recorder: HttpRecorder,
): Promise<AgentSession> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    authProvider: provider,
    fetch: recorder.fetch,
  });
  const client = newClient();
  await client.connect(transport);
  return session(client, transport);
}

/** The `nightly-sync` machine client: client credentials, authenticated with its private key. */
export function nightlySyncProvider(issuer: string): PrivateKeyJwtProvider {
  return new PrivateKeyJwtProvider({
    clientId: 'nightly-sync',
    privateKey: { ...NIGHTLY_SYNC_PRIVATE_JWK },
    algorithm: 'ES256',
    clientName: 'nightly-sync',
    scope: 'notes.read notes.write',
    expectedIssuer: issuer,
  });
}

/** The text parts of a tool result, joined by newlines (an error result is thrown). */
export function toolText(result: unknown): string {
  const r = result as { content?: Array<{ type: string; text?: string }>; isError?: boolean };
  const text = (r.content ?? []).map((c) => c.text ?? '').join('\n');
  if (r.isError) throw new Error(`the tool reported an error: ${text}`);
  return text;
}
