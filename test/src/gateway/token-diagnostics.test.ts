/**
 * `mcp-iam token` run as a user runs it against the development IdP, where a first attempt goes
 * wrong: a refused client is reported with the IdP's `invalid_client` (read from its
 * WWW-Authenticate challenge), the client id and what to check; a scope the IdP does not list, no
 * scope and no `--resource` each get a warning on stderr naming what is missing and what the IdP
 * supports; an unusable private key file is named with what is wrong with its key.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDevIdp, type DevIdp } from '@mcp-iam/dev-idp';
import { runMcpIam } from './support/cli.js';

describe('mcp-iam token explains what went wrong', () => {
  let idp: DevIdp;
  let dir: string;
  let resource: string;

  before(async () => {
    idp = await startDevIdp({ port: 0 });
    dir = await mkdtemp(join(tmpdir(), 'mcp-iam-token-'));
    resource = 'http://127.0.0.1:8080/crm/mcp';
  });
  after(async () => {
    await idp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function token(client: string, ...args: string[]) {
    return runMcpIam([
      'token',
      '--issuer',
      idp.issuer,
      '--client-id',
      client,
      '--client-credentials',
      ...args,
    ]);
  }

  it('a wrong client secret exits 1 with the IdP’s invalid_client, the client id and what to check', async () => {
    const run = await token(
      'ci-bot',
      '--client-secret',
      'wrong',
      '--scope',
      'crm.read',
      '--resource',
      resource,
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /the IdP refused the token request of client "ci-bot" at http:\/\/127\.0\.0\.1:\d+\/token: HTTP 401 invalid_client \(client authentication failed\); check --client-id and --client-secret/,
    );
    assert.doesNotMatch(run.stderr, /WWW-Authenticate/);
  });

  it('an unknown client exits 1 with invalid_client naming the client', async () => {
    const run = await token(
      'no-such-client',
      '--client-secret',
      's',
      '--scope',
      'crm.read',
      '--resource',
      resource,
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /client "no-such-client" .*invalid_client/);
  });

  it('a scope the IdP does not list is named on stderr with the likely scope and the supported ones', async () => {
    const run = await token(
      'ci-bot',
      '--client-secret',
      'ci-bot-secret',
      '--scope',
      'crm.raed',
      '--resource',
      resource,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /^warning: scope "crm\.raed" is not in the IdP's scopes_supported \(did you mean crm\.read\?\).*the IdP supports: .*crm\.read crm\.write/m,
    );
  });

  it('no --scope is named on stderr with the scopes the IdP supports', async () => {
    const run = await token('ci-bot', '--client-secret', 'ci-bot-secret', '--resource', resource);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^warning: no --scope given: .*the IdP supports: .*crm\.read/m);
  });

  it('no --resource is named on stderr', async () => {
    const run = await token('ci-bot', '--client-secret', 'ci-bot-secret', '--scope', 'crm.read');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^warning: no --resource given: /m);
  });

  it('a request with a listed scope and a resource gets no warning', async () => {
    const run = await token(
      'ci-bot',
      '--client-secret',
      'ci-bot-secret',
      '--scope',
      'crm.read',
      '--resource',
      resource,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
  });

  it('a key file that is no private key is named with what is wrong with it', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const files = {
      'oct.json': [
        JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' }),
        /is a JWK with kty "oct"; private_key_jwt needs an EC, RSA or OKP private key/,
      ],
      'public.json': [
        JSON.stringify(publicKey.export({ format: 'jwk' })),
        /is a public EC key \(it has no "d"\)/,
      ],
      'sec1.pem': [
        privateKey.export({ format: 'pem', type: 'sec1' }).toString(),
        /holds a PEM "EC PRIVATE KEY"; give a PKCS#8 "PRIVATE KEY"/,
      ],
      'broken.json': ['{"kty": "EC",', /is not a JWK: its JSON does not parse/],
    } as const;
    for (const [name, [text, problem]] of Object.entries(files)) {
      const file = join(dir, name);
      await writeFile(file, text);
      const run = await token(
        'nightly-sync',
        '--private-key',
        file,
        '--scope',
        'notes.read',
        '--resource',
        resource,
      );
      assert.equal(run.code, 1, `${name}: ${run.stderr}`);
      assert.ok(
        run.stderr.includes(`the private key file ${file} `) ||
          run.stderr.includes(`the private key file ${file}:`),
        run.stderr,
      );
      assert.match(run.stderr, problem, name);
      assert.doesNotMatch(run.stderr, /Unsupported "kty"/);
    }
  });
});
