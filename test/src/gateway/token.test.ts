/**
 * `mcp-iam token` end to end: `obtainToken` signs a person in with PKCE through a loopback
 * redirect (the injected browser fills in the dev IdP's pages and follows the redirect to the
 * loopback callback), asks for MFA when told to, and gets machine tokens by client credentials
 * (client secret and private key); the tokens are accepted by the gateway. The CLI's
 * `--client-credentials --out FILE` and `writeTokenFile` leave a file only its owner can read.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { NIGHTLY_SYNC_PRIVATE_JWK, totpNow } from '@mcp-iam/dev-idp';
import { obtainToken, writeTokenFile } from '@mcp-iam/cli';
import { signIn, type Person } from './support/browser.js';
import { MCP_IAM_CLI } from './support/cli.js';
import { callTool, resultText, rpc } from './support/rpc.js';
import { startStack, type Stack } from './support/stack.js';

/** A browser that signs `person` in and then loads the loopback callback, as a real one would. */
function browserFor(person: Person, opened: string[]): (url: string) => Promise<void> {
  return async (url) => {
    opened.push(url);
    const callback = await signIn(url, person);
    const response = await fetch(callback);
    await response.text();
  };
}

describe('mcp-iam token', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.close();
  });

  it('signs a person in with PKCE over a loopback redirect and the token is accepted by the gateway', async () => {
    const opened: string[] = [];
    const response = await obtainToken({
      issuer: stack.idp.issuer,
      clientId: 'demo-agent',
      resource: stack.routes.crm,
      scope: 'crm.read crm.write',
      openBrowser: browserFor({ user: 'alice', password: 'alice' }, opened),
      timeoutMs: 20_000,
      log: () => undefined,
    });
    assert.equal(opened.length, 1);
    const authorization = new URL(opened[0] ?? '');
    assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
    assert.match(
      authorization.searchParams.get('redirect_uri') ?? '',
      /^http:\/\/127\.0\.0\.1:\d+\/callback$/,
    );
    const claims = decodeJwt(response.access_token);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.aud, stack.routes.crm);
    assert.equal(claims['acr'], 'pwd');
    const answer = await callTool(stack.routes.crm, response.access_token, 'search_contacts', {
      query: 'ada',
    });
    assert.equal(answer.status, 200, answer.text);
  });

  it('asks for MFA with --acr-values mfa, and the MFA token passes the step-up rule', async () => {
    const response = await obtainToken({
      issuer: stack.idp.issuer,
      clientId: 'demo-agent',
      resource: stack.routes.crm,
      scope: 'crm.read crm.write',
      acrValues: 'mfa',
      openBrowser: browserFor({ user: 'alice', password: 'alice', otp: totpNow('alice') }, []),
      timeoutMs: 20_000,
      log: () => undefined,
    });
    assert.equal(decodeJwt(response.access_token)['acr'], 'mfa');
    const answer = await callTool(stack.routes.crm, response.access_token, 'update_contact', {
      id: 'c1',
      name: 'Ada King',
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(resultText(answer.json), 'contact c1 renamed to Ada King');
  });

  it('gets a machine token by client credentials with a client secret (ci-bot)', async () => {
    const response = await obtainToken({
      issuer: stack.idp.issuer,
      clientId: 'ci-bot',
      clientSecret: 'ci-bot-secret',
      clientCredentials: true,
      resource: stack.routes.direct,
      scope: 'crm.read',
    });
    const claims = decodeJwt(response.access_token);
    assert.equal(claims.sub, 'ci-bot');
    assert.equal(claims.aud, stack.routes.direct);
    const answer = await rpc(stack.routes.direct, response.access_token, 'tools/list');
    assert.equal(answer.status, 200, answer.text);
  });

  it('gets a machine token by client credentials with a private key (nightly-sync, opaque)', async () => {
    const response = await obtainToken({
      issuer: stack.idp.issuer,
      clientId: 'nightly-sync',
      privateKey: JSON.stringify(NIGHTLY_SYNC_PRIVATE_JWK),
      clientCredentials: true,
      resource: stack.routes.notes,
      scope: 'notes.read',
    });
    const answer = await callTool(stack.routes.notes, response.access_token, 'list_notes');
    assert.equal(answer.status, 200, answer.text);
  });

  it('the CLI with --client-credentials --out writes the token to a file with mode 600', async () => {
    const out = join(stack.dir, 'ci-bot.token');
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          MCP_IAM_CLI,
          'token',
          '--issuer',
          stack.idp.issuer,
          '--client-id',
          'ci-bot',
          '--client-credentials',
          '--resource',
          stack.routes.direct,
          '--scope',
          'crm.read',
          '--out',
          out,
        ],
        {
          env: { PATH: process.env.PATH ?? '', MCP_IAM_CLIENT_SECRET: 'ci-bot-secret' },
          timeout: 30_000,
        },
        (error, _stdout, stderr) =>
          resolve({
            code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
            stderr,
          }),
      );
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    const token = (await readFile(out, 'utf8')).trim();
    assert.equal(decodeJwt(token).sub, 'ci-bot');
    assert.ok(!run.stderr.includes(token), 'the token is not printed when written to a file');
  });

  it('writeTokenFile replaces an existing readable file with one of mode 600', async () => {
    const path = join(stack.dir, 'existing.token');
    await writeFile(path, 'old\n', { mode: 0o644 });
    await writeTokenFile(path, 'opaque-token-value');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await readFile(path, 'utf8'), 'opaque-token-value\n');
  });
});
