/**
 * Isolation between principals, against the running gateway (SECURITY-CASES rows 81–85): a gateway
 * started from a YAML file that trusts two issuers (two realms of the loopback IdP double, real
 * ES256 keys), a per-principal stdio notes route and a shared one, and an HTTP route in mode `none`
 * in front of a stateful MCP server (official SDK) whose sessions hold state. Callers are
 * principals that differ only in issuer or kind: `alice` at each issuer, and a machine client whose
 * id is `alice`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT } from 'jose';
import { querySpool } from '@mcp-iam/audit';
import type { AuditRecord } from '@mcp-iam/core';
import { createGatewayLogger, startGateway, type RunningGateway } from '@mcp-iam/gateway';
import { LoopbackIdp, type IdpRealm } from '../fixtures/loopback-idp.js';
import { createTestSigner, type TestSigner } from '../hostile/keys.js';
import { freePort } from './support/ports.js';
import { callTool, resultText, rpc, type RpcAnswer } from './support/rpc.js';
import { startSessionUpstream, type SessionUpstream } from './support/session-upstream.js';
import { NOTES_SERVER } from './support/stack.js';

const OPAQUE_CLIENT_ALICE = 'opaque-machine-token-of-client-alice';

describe('isolation between principals (rows 81–85)', () => {
  let idp: LoopbackIdp;
  let main: IdpRealm;
  let partner: IdpRealm;
  const signers = new Map<IdpRealm, TestSigner>();
  let upstream: SessionUpstream;
  let gateway: RunningGateway;
  let dir: string;
  let auditDir: string;
  let base: string;

  /** A JWT access token of `realm` for the gateway route `path`. */
  async function token(realm: IdpRealm, sub: string, path: string, scope: string) {
    const signer = signers.get(realm)!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope, client_id: 'agent', jti: `${sub}-${Math.random()}` })
      .setProtectedHeader({ alg: 'ES256', kid: signer.kid!, typ: 'at+jwt' })
      .setIssuer(realm.issuer)
      .setSubject(sub)
      .setAudience(`${base}${path}`)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(signer.privateKey);
  }

  async function records(): Promise<AuditRecord[]> {
    return querySpool(auditDir, { limit: 100_000 });
  }

  async function recordOf(answer: RpcAnswer | Response): Promise<AuditRecord> {
    const id = answer.headers.get('x-request-id');
    const mine = (await records()).filter((r) => r.requestId === id);
    assert.equal(mine.length, 1, `one record for request ${id}`);
    return mine[0]!;
  }

  before(async () => {
    idp = await LoopbackIdp.start();
    main = idp.realm('main');
    partner = idp.realm('partner');
    for (const realm of [main, partner]) {
      const signer = await createTestSigner('ES256', `${realm.name}-es256`);
      signers.set(realm, signer);
      realm.jwks = { keys: [signer.publicJwk] };
    }
    upstream = await startSessionUpstream();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const now = Math.floor(Date.now() / 1000);
    // A machine client named `alice` at the main issuer: an opaque token without `sub`.
    main.introspect = (presented) =>
      presented === OPAQUE_CLIENT_ALICE
        ? {
            status: 200,
            body: JSON.stringify({
              active: true,
              client_id: 'alice',
              scope: 'notes.read notes.write',
              aud: `${base}/notes/mcp`,
              iss: main.issuer,
              exp: now + 600,
              iat: now,
            }),
          }
        : { status: 200, body: '{"active":false}' };
    dir = await mkdtemp(join(tmpdir(), 'mcp-iam-isolation-'));
    auditDir = join(dir, 'audit');
    // Opaque tokens are introspected at the main issuer only (one introspecting issuer per route).
    const issuer = (realm: IdpRealm) => `  - issuer: ${realm.issuer}
    jwks_uri: ${realm.jwksUri}
    algorithms: [ES256]
    allow_insecure_loopback_http: true
${
  realm === main
    ? `    introspection:
      endpoint: ${realm.introspectionEndpoint}
      client_id: ${realm.introspectionClient.id}
      client_secret: ${realm.introspectionClient.secret}
`
    : ''
}`;
    const notesPolicy = `    policy:
      default: deny
      methods: { initialize: {}, tools/list: { scopes: [notes.read] } }
      tools:
        list_notes: { scopes: [notes.read] }
        add_note: { scopes: [notes.write] }
        wait: { scopes: [notes.read] }
`;
    const configFile = join(dir, 'gateway.yaml');
    await writeFile(
      configFile,
      `listen: { host: 127.0.0.1, port: ${port} }
public_url: ${base}
issuers:
${issuer(main)}${issuer(partner)}routes:
  - name: notes
    path: /notes/mcp
    upstream: { command: ${process.execPath}, args: [${NOTES_SERVER}], isolation: per-subject }
    downstream: { mode: none }
${notesPolicy}  - name: shared
    path: /shared/mcp
    upstream: { command: ${process.execPath}, args: [${NOTES_SERVER}], isolation: shared }
    downstream: { mode: none }
    limits: { upstream_timeout_ms: 10000 }
${notesPolicy}  - name: sessions
    path: /sessions/mcp
    upstream: { url: ${upstream.url} }
    downstream: { mode: none }
    policy:
      default: deny
      methods: { initialize: {}, notifications/initialized: {}, tools/list: {} }
      tools: { remember: {}, recall: {} }
audit: { sink: spool, path: ${auditDir}, mode: strict }
`,
    );
    gateway = await startGateway({
      configFile,
      logger: createGatewayLogger({ level: 'silent' }),
    });
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
    await idp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('row 81: two issuers with the same sub never share a stdio process', async () => {
    const notes = `${base}/notes/mcp`;
    const mainAlice = await token(main, 'alice', '/notes/mcp', 'notes.read notes.write');
    const partnerAlice = await token(partner, 'alice', '/notes/mcp', 'notes.read notes.write');
    const added = await callTool(notes, mainAlice, 'add_note', { text: 'payroll password 4711' });
    assert.equal(added.status, 200, added.text);
    const own = JSON.parse(resultText((await callTool(notes, mainAlice, 'list_notes')).json));
    assert.deepEqual(own.notes, ['payroll password 4711']);
    const other = await callTool(notes, partnerAlice, 'list_notes');
    assert.equal(other.status, 200, other.text);
    const seen = JSON.parse(resultText(other.json));
    assert.deepEqual(seen.notes, [], "the partner's alice reads none of the main alice's notes");
    assert.notEqual(seen.pid, own.pid, 'two processes');
  });

  it("row 81: a client whose id is a user's sub never shares that user's stdio process", async () => {
    const notes = `${base}/notes/mcp`;
    const mainAlice = await token(main, 'alice', '/notes/mcp', 'notes.read notes.write');
    const user = JSON.parse(resultText((await callTool(notes, mainAlice, 'list_notes')).json));
    assert.ok(user.notes.length > 0, "alice's process holds her notes");
    const answer = await callTool(notes, OPAQUE_CLIENT_ALICE, 'list_notes');
    assert.equal(answer.status, 200, answer.text);
    const machine = JSON.parse(resultText(answer.json));
    assert.deepEqual(machine.notes, [], 'the client alice reads none of the user alice’s notes');
    assert.notEqual(machine.pid, user.pid);
    const record = await recordOf(answer);
    assert.equal(record.subject, 'alice');
    assert.equal(record.clientId, 'alice');
  });

  it("row 82: another principal's POST, GET and DELETE with a session id get 404; the owner's session keeps working", async () => {
    const url = `${base}/sessions/mcp`;
    const aliceToken = await token(main, 'alice', '/sessions/mcp', '');
    const client = new Client({ name: 'alice-agent', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${aliceToken}` } },
    });
    await client.connect(transport);
    try {
      const sessionId = transport.sessionId;
      assert.ok(sessionId, 'the upstream issued a session id');
      await client.callTool({ name: 'remember', arguments: { text: 'alice’s secret plan' } });
      const reached = upstream.requests.length;

      // bob at the same issuer, and alice at the partner issuer: valid tokens, not the owner.
      for (const intruder of [
        await token(main, 'bob', '/sessions/mcp', ''),
        await token(partner, 'alice', '/sessions/mcp', ''),
      ]) {
        const auth = { authorization: `Bearer ${intruder}`, 'mcp-session-id': sessionId };
        const post = await rpc(
          url,
          intruder,
          'tools/call',
          { name: 'recall', arguments: {} },
          {
            'mcp-session-id': sessionId,
          },
        );
        assert.equal(post.status, 404, post.text);
        assert.ok(!post.text.includes('secret plan'));
        // The same answer as for a session that does not exist: the owner is not revealed.
        assert.deepEqual(post.json, {
          error: 'session_not_found',
          error_description: 'Session not found.',
        });
        const get = await fetch(url, {
          headers: { ...auth, accept: 'text/event-stream' },
        });
        assert.equal(get.status, 404);
        await get.body?.cancel();
        const del = await fetch(url, { method: 'DELETE', headers: auth });
        assert.equal(del.status, 404);
        await del.body?.cancel();
        for (const answer of [post, get, del]) {
          const record = await recordOf(answer);
          assert.equal(record.outcome, 'deny');
          assert.equal(record.reason, 'session_not_owned');
          assert.equal(record.status, 404);
        }
      }
      assert.equal(upstream.requests.length, reached, 'no intruder request reached the upstream');
      assert.ok(upstream.sessions.has(sessionId), 'the session was not deleted');

      const recalled = await client.callTool({ name: 'recall', arguments: {} });
      assert.deepEqual(JSON.parse(resultText({ result: recalled })), ['alice’s secret plan']);

      // A session id the gateway never issued is refused the same way, with its own reason.
      const made = await rpc(url, aliceToken, 'tools/list', {}, { 'mcp-session-id': 'guessed' });
      assert.equal(made.status, 404);
      assert.equal((await recordOf(made)).reason, 'session_unknown');

      // The owner's DELETE ends the binding: the id is unknown afterwards.
      await transport.terminateSession();
      const stale = await rpc(url, aliceToken, 'tools/list', {}, { 'mcp-session-id': sessionId });
      assert.equal(stale.status, 404);
      assert.equal((await recordOf(stale)).reason, 'session_unknown');
    } finally {
      await client.close();
    }
  });

  it('row 83: cancellations from another principal never end a call on a shared stdio process', async () => {
    const url = `${base}/shared/mcp`;
    const alice = await token(main, 'alice', '/shared/mcp', 'notes.read');
    const bob = await token(main, 'bob', '/shared/mcp', 'notes.read');
    const id = 7;
    const call = fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'wait', arguments: { ms: 800 } },
      }),
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cancel = async (requestId: unknown) => {
      const answer = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${bob}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId, reason: 'bob says so' },
        }),
      });
      await answer.body?.cancel();
      return answer.status;
    };
    const guesses = [id, ...Array.from({ length: 19 }, (_, i) => `mcp-iam-${i + 1}`)];
    for (const guess of guesses) assert.equal(await cancel(guess), 202);
    const answer = await call;
    assert.equal(answer.status, 200, "alice's call is answered, not cut off by bob");
    const body = (await answer.json()) as { id: unknown; result?: unknown };
    assert.equal(body.id, id);
    assert.equal(resultText(body), 'waited 800');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(
      metrics,
      /mcp_iam_notifications_dropped_total\{route="shared",method="notifications\/cancelled"\} 20/,
    );
  });

  it('row 85: two callers sending the same traceparent get distinct request ids and records', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const notes = `${base}/notes/mcp`;
    const answers = [
      await callTool(
        notes,
        await token(main, 'alice', '/notes/mcp', 'notes.read'),
        'list_notes',
        {},
        { traceparent },
      ),
      await callTool(
        notes,
        await token(main, 'bob', '/notes/mcp', 'notes.read'),
        'list_notes',
        {},
        { traceparent },
      ),
    ];
    const ids = answers.map((a) => a.headers.get('x-request-id'));
    assert.notEqual(ids[0], ids[1]);
    for (const id of ids) assert.notEqual(id, '0af7651916cd43dd8448eb211c80319c');
    const [first, second] = await Promise.all(answers.map(recordOf));
    assert.equal(first?.subject, 'alice');
    assert.equal(second?.subject, 'bob');
  });
});
