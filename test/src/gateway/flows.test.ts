/**
 * End-to-end flows through the gateway with the official MCP SDK client on 127.0.0.1: a person's
 * sign-in from a bare 401 (RFC 9728 discovery, RFC 8414 metadata, PKCE), list filtering, scope
 * and step-up challenges, token exchange toward the HTTP upstream, and machine access to the
 * stdio route with opaque tokens and one process per subject.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import {
  ClientCredentialsProvider,
  PrivateKeyJwtProvider,
} from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import {
  clientCredentialsToken,
  NIGHTLY_SYNC_PRIVATE_JWK,
  totpNow,
  userAccessToken,
} from '@mcp-iam/dev-idp';
import { querySpool } from '@mcp-iam/audit';
import { parseSingleChallenge } from '../fixtures/auth-params.js';
import { PersonOAuthProvider } from './support/person-provider.js';
import { freePort } from './support/ports.js';
import { callTool, resultText, rpc } from './support/rpc.js';
import { startStack, type Stack } from './support/stack.js';

function challengeParams(header: string | null): Map<string, string> {
  assert.ok(header, 'a WWW-Authenticate header is present');
  const parsed = parseSingleChallenge(header);
  assert.equal(parsed.scheme.toLowerCase(), 'bearer');
  return new Map(parsed.params);
}

function newClient(): Client {
  return new Client({ name: 'e2e-client', version: '1.0.0' });
}

describe('gateway end-to-end flows', () => {
  let stack: Stack;
  const clients: Client[] = [];

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await stack?.close();
  });

  async function aliceToken(extra: { otp?: string; acrValues?: string } = {}): Promise<string> {
    const tokens = await userAccessToken({
      issuer: stack.idp.issuer,
      user: 'alice',
      password: 'alice',
      scope: 'crm.read crm.write',
      resource: stack.routes.crm,
      ...extra,
    });
    return tokens.access_token;
  }

  it('a person goes from a bare 401 through RFC 9728 discovery and PKCE to a tools/list filtered to what she may use', async () => {
    const seen: string[] = [];
    const challenges: Array<string | null> = [];
    const recordingFetch = async (input: string | URL | Request, init?: RequestInit) => {
      const url = input instanceof Request ? input.url : String(input);
      const response = await fetch(input, init);
      seen.push(`${init?.method ?? 'GET'} ${url} ${response.status}`);
      if (url === stack.routes.crm) challenges.push(response.headers.get('www-authenticate'));
      return response;
    };
    const provider = new PersonOAuthProvider(
      { user: 'alice', password: 'alice' },
      await freePort(),
    );
    const first = new StreamableHTTPClientTransport(new URL(stack.routes.crm), {
      authProvider: provider,
      fetch: recordingFetch,
    });
    await assert.rejects(newClient().connect(first), UnauthorizedError);

    const metadataUrl = `${stack.base}/.well-known/oauth-protected-resource/crm/mcp`;
    assert.equal(seen[0], `POST ${stack.routes.crm} 401`, 'the first call is refused with 401');
    const first401 = challengeParams(challenges[0] ?? null);
    assert.equal(first401.get('resource_metadata'), metadataUrl);
    assert.ok(seen.includes(`GET ${metadataUrl} 200`), 'protected resource metadata read');
    assert.ok(
      seen.some(
        (line) => line.startsWith(`GET ${stack.idp.issuer}/.well-known/`) && line.endsWith(' 200'),
      ),
      'authorization server metadata read',
    );
    const authorization = provider.authorizationUrls[0];
    assert.ok(authorization, 'the SDK sent the person to the IdP');
    assert.equal(authorization.origin + authorization.pathname, stack.idp.endpoints.authorization);
    assert.equal(authorization.searchParams.get('client_id'), 'demo-agent');
    assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorization.searchParams.get('resource'), stack.routes.crm);
    assert.ok(provider.code, 'the sign-in returned a code');

    await first.finishAuth(provider.code);
    const token = provider.tokens()?.access_token;
    assert.ok(token);
    const claims = decodeJwt(token);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.aud, stack.routes.crm);
    assert.equal(claims['acr'], 'pwd');

    const client = newClient();
    clients.push(client);
    await client.connect(
      new StreamableHTTPClientTransport(new URL(stack.routes.crm), { authProvider: provider }),
    );
    const tools = await client.listTools();
    assert.deepEqual(
      tools.tools.map((t) => t.name),
      ['search_contacts', 'update_contact'],
      'update_contact is listed (a step-up unlocks it); delete_everything is not in the policy',
    );
    const result = await client.callTool({ name: 'search_contacts', arguments: { query: 'ada' } });
    assert.match(resultText(result), /Ada Lovelace/);
    // The listed tool leads the client to the step-up challenge rather than "tool not found".
    await assert.rejects(
      client.callTool({ name: 'update_contact', arguments: { id: '1', name: 'Ada' } }),
      (error: unknown) => error instanceof UnauthorizedError || /401/.test(String(error)),
    );
    const stepUp = await callTool(stack.routes.crm, token, 'update_contact', {
      id: '1',
      name: 'Ada',
    });
    assert.equal(stepUp.status, 401);
    assert.match(
      stepUp.headers.get('www-authenticate') ?? '',
      /error="insufficient_user_authentication"/,
    );
  });

  it("a token holding none of the route's downstream scopes gets 403 insufficient_scope naming them, before any exchange", async () => {
    const bare = await clientCredentialsToken({
      issuer: stack.idp.issuer,
      clientId: 'ci-bot',
      clientSecret: 'ci-bot-secret',
      scope: '',
      resource: stack.routes.crm,
    });
    assert.equal(decodeJwt(bare.access_token)['scope'] ?? '', '', 'a token without scopes');
    const exchangesBefore = await exchangeLookups();
    const before = stack.crm.requests.length;
    const answer = await rpc(stack.routes.crm, bare.access_token, 'initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'ci', version: '1' },
    });
    assert.equal(answer.status, 403, answer.text);
    const params = challengeParams(answer.headers.get('www-authenticate'));
    assert.equal(params.get('error'), 'insufficient_scope');
    assert.equal(params.get('scope'), 'crm.read crm.write');
    assert.equal(stack.crm.requests.length, before, 'nothing reached the upstream');
    assert.equal(await exchangeLookups(), exchangesBefore, 'no exchange was attempted');
    const record = (await querySpool(stack.auditDir, { limit: 100_000 })).find(
      (r) => r.requestId === answer.headers.get('x-request-id'),
    );
    assert.equal(record?.outcome, 'deny');
    assert.equal(record?.reason, 'insufficient_scope');
    assert.deepEqual(record?.scopesRequired, ['crm.read', 'crm.write']);
  });

  /** Exchanged-token cache lookups so far (each exchange attempt is one). */
  async function exchangeLookups(): Promise<number> {
    const text = await (await fetch(`${stack.base}/metrics`)).text();
    let total = 0;
    for (const m of text.matchAll(/^mcp_iam_token_exchange_cache_total\{[^}]*\} (\d+)/gm))
      total += Number(m[1]);
    return total;
  }

  it('a tool that needs a scope the caller lacks is refused with 403 insufficient_scope naming exactly the scopes needed', async () => {
    const bob = await userAccessToken({
      issuer: stack.idp.issuer,
      user: 'bob',
      password: 'bob',
      scope: 'crm.read',
      resource: stack.routes.crm,
    });
    const before = stack.crm.requests.length;
    const answer = await callTool(stack.routes.crm, bob.access_token, 'update_contact', {
      id: 'c1',
      name: 'Mallory',
    });
    assert.equal(answer.status, 403);
    const params = challengeParams(answer.headers.get('www-authenticate'));
    assert.equal(params.get('error'), 'insufficient_scope');
    assert.equal(params.get('scope'), 'crm.write');
    assert.equal(
      params.get('resource_metadata'),
      `${stack.base}/.well-known/oauth-protected-resource/crm/mcp`,
    );
    assert.equal(stack.crm.requests.length, before, 'the upstream never saw the refused call');
  });

  it('a password-only session is asked to step up to MFA, and an MFA token is allowed', async () => {
    const before = stack.crm.requests.length;
    const weak = await callTool(stack.routes.crm, await aliceToken(), 'update_contact', {
      id: 'c1',
      name: 'Ada King',
    });
    assert.equal(weak.status, 401);
    const params = challengeParams(weak.headers.get('www-authenticate'));
    assert.equal(params.get('error'), 'insufficient_user_authentication');
    assert.equal(params.get('acr_values'), 'mfa');
    assert.equal(stack.crm.requests.length, before, 'the upstream never saw the weak call');

    const strong = await aliceToken({ otp: totpNow('alice'), acrValues: 'mfa' });
    assert.equal(decodeJwt(strong)['acr'], 'mfa');
    const answer = await callTool(stack.routes.crm, strong, 'update_contact', {
      id: 'c1',
      name: 'Ada King',
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(resultText(answer.json), 'contact c1 renamed to Ada King');
  });

  it('the HTTP upstream receives an exchanged token for its own audience acting for alice, never the caller token', async () => {
    const caller = await aliceToken();
    const before = stack.crm.requests.length;
    const answer = await callTool(stack.routes.crm, caller, 'search_contacts', { query: 'ada' });
    assert.equal(answer.status, 200, answer.text);
    const received = stack.crm.requests.slice(before);
    assert.equal(received.length, 1);
    const header = received[0]?.headers.authorization;
    assert.ok(typeof header === 'string' && header.startsWith('Bearer '));
    const upstreamToken = header.slice('Bearer '.length);
    assert.notEqual(upstreamToken, caller);
    assert.ok(!JSON.stringify(received[0]).includes(caller), 'the caller token appears nowhere');

    const jwks = createRemoteJWKSet(new URL(stack.idp.endpoints.jwks));
    const { payload } = await jwtVerify(upstreamToken, jwks, {
      issuer: stack.idp.issuer,
      audience: stack.crm.url,
    });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.aud, stack.crm.url);
    assert.deepEqual(payload['act'], { sub: 'mcp-gateway' });
    assert.equal(payload['client_id'], 'mcp-gateway');
    assert.notEqual(payload.aud, decodeJwt(caller).aud);
  });

  async function ciBotSession(resource: string): Promise<{ client: Client; token: string }> {
    const provider = new ClientCredentialsProvider({
      clientId: 'ci-bot',
      clientSecret: 'ci-bot-secret',
      scope: 'crm.read',
      expectedIssuer: stack.idp.issuer,
    });
    const client = newClient();
    clients.push(client);
    await client.connect(
      new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }),
    );
    const token = provider.tokens()?.access_token;
    assert.ok(token, 'the SDK obtained a token by client credentials');
    const claims = decodeJwt(token);
    assert.equal(claims.sub, 'ci-bot');
    assert.equal(claims.aud, resource);
    return { client, token };
  }

  it('a machine with client_secret_basic (ci-bot) signs in through discovery and calls what its scope allows', async () => {
    const before = stack.crm.requests.length;
    const { client, token } = await ciBotSession(stack.routes.direct);
    const tools = await client.listTools();
    assert.deepEqual(
      tools.tools.map((t) => t.name),
      ['search_contacts'],
    );
    const result = await client.callTool({ name: 'search_contacts', arguments: { query: 'ada' } });
    assert.match(resultText(result), /Ada Lovelace/);
    const received = stack.crm.requests.slice(before);
    assert.ok(received.length >= 2);
    for (const request of received) {
      assert.equal(request.headers.authorization, undefined, 'mode none sends no credentials');
      assert.ok(!JSON.stringify(request).includes(token));
    }
  });

  it('a machine caller (ci-bot) is served on the token-exchange route with an exchanged token for the upstream', async () => {
    const before = stack.crm.requests.length;
    const { client, token } = await ciBotSession(stack.routes.crm);
    const result = await client.callTool({ name: 'search_contacts', arguments: { query: 'ada' } });
    assert.match(resultText(result), /Ada Lovelace/);
    const received = stack.crm.requests.slice(before);
    assert.ok(received.length >= 1);
    for (const request of received) {
      const header = request.headers.authorization ?? '';
      assert.ok(!header.includes(token), 'the caller token is never forwarded');
      const claims = decodeJwt(header.slice('Bearer '.length));
      assert.equal(claims.aud, stack.crm.url);
      assert.equal(claims.sub, 'ci-bot');
    }
  });

  it('a machine with private_key_jwt reaches the stdio notes route with an opaque token, and each subject gets its own process', async () => {
    const provider = new PrivateKeyJwtProvider({
      clientId: 'nightly-sync',
      privateKey: { ...NIGHTLY_SYNC_PRIVATE_JWK },
      algorithm: 'ES256',
      scope: 'notes.read notes.write',
      expectedIssuer: stack.idp.issuer,
    });
    const nightly = newClient();
    clients.push(nightly);
    await nightly.connect(
      new StreamableHTTPClientTransport(new URL(stack.routes.notes), { authProvider: provider }),
    );
    const machineToken = provider.tokens()?.access_token;
    assert.ok(machineToken, 'the SDK obtained a token by client credentials');
    assert.throws(() => decodeJwt(machineToken), 'the notes route token is opaque');

    const names = (await nightly.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['add_note', 'environment', 'list_notes']);
    const added = await nightly.callTool({ name: 'add_note', arguments: { text: 'nightly-only' } });
    const nightlyPid = (JSON.parse(resultText(added)) as { pid: number }).pid;
    const nightlyList = JSON.parse(
      resultText(await nightly.callTool({ name: 'list_notes', arguments: {} })),
    ) as { pid: number; notes: string[] };
    assert.deepEqual(nightlyList.notes, ['nightly-only']);

    const alice = await userAccessToken({
      issuer: stack.idp.issuer,
      user: 'alice',
      password: 'alice',
      scope: 'notes.read notes.write',
      resource: stack.routes.notes,
    });
    assert.throws(() => decodeJwt(alice.access_token), 'user tokens for notes are opaque too');
    const person = newClient();
    clients.push(person);
    await person.connect(
      new StreamableHTTPClientTransport(new URL(stack.routes.notes), {
        requestInit: { headers: { authorization: `Bearer ${alice.access_token}` } },
      }),
    );
    const aliceList = JSON.parse(
      resultText(await person.callTool({ name: 'list_notes', arguments: {} })),
    ) as { pid: number; notes: string[] };
    assert.deepEqual(aliceList.notes, [], "alice does not see nightly-sync's note");
    assert.notEqual(aliceList.pid, nightlyPid, 'a different process serves alice');
    await person.callTool({ name: 'add_note', arguments: { text: 'alice-only' } });
    const again = JSON.parse(
      resultText(await nightly.callTool({ name: 'list_notes', arguments: {} })),
    ) as { pid: number; notes: string[] };
    assert.deepEqual(again.notes, ['nightly-only']);
    assert.equal(again.pid, nightlyPid, 'nightly-sync keeps its own process');
    const metrics = await (await fetch(`${stack.base}/metrics`)).text();
    assert.match(metrics, /^mcp_iam_stdio_processes\{route="notes"\} 2$/m, 'two processes');
  });

  it('/metrics counts the token-exchange and introspection cache lookups the flows above made', async () => {
    const metrics = await (await fetch(`${stack.base}/metrics`)).text();
    const count = (name: string, result: string): number => {
      const match = new RegExp(`^${name}\\{result="${result}"\\} (\\d+)$`, 'm').exec(metrics);
      return match ? Number(match[1]) : 0;
    };
    assert.ok(count('mcp_iam_token_exchange_cache_total', 'miss') >= 1, 'exchanges happened');
    assert.ok(
      count('mcp_iam_token_exchange_cache_total', 'hit') >= 1,
      'repeat calls hit the cache',
    );
    assert.ok(
      count('mcp_iam_introspection_cache_total', 'miss') >= 1,
      'opaque tokens introspected',
    );
  });
});
