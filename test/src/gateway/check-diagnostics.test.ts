/**
 * What `mcp-iam check` tells a new user, run as a user runs it: the complete example of
 * docs/gateway.md passes against a development IdP; a setting core refuses is reported at the YAML
 * key with the YAML key to set (never core's TypeScript option name); every FAIL names the URL and
 * the cause (ECONNREFUSED, the IdP's invalid_client) and, for a refused client, the client id and
 * the keys that hold it; metadata that names another issuer is quoted next to the configured one;
 * an IdP known to write a `typ` that `token_types` leaves out gets a warning naming both.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { LoopbackIdp } from '../fixtures/loopback-idp.js';
import { runMcpIam } from './support/cli.js';
import { freePort } from './support/ports.js';
import { GATEWAY_ENV, gatewayYaml, startStack, type Stack } from './support/stack.js';

const GATEWAY_DOC = fileURLToPath(new URL('../../../docs/gateway.md', import.meta.url));

/** The YAML block under "## A complete example" of docs/gateway.md. */
async function completeExample(): Promise<string> {
  const text = await readFile(GATEWAY_DOC, 'utf8');
  const section = text.slice(text.indexOf('## A complete example'));
  const match = /```yaml\n([\s\S]*?)```/.exec(section);
  assert.ok(match?.[1], 'docs/gateway.md has a yaml block under "A complete example"');
  return match[1];
}

/** The stdout line of the finding about `subject`. */
function line(stdout: string, subject: string): string {
  return stdout.split('\n').find((l) => l.includes(`  ${subject}: `)) ?? '';
}

describe('mcp-iam check names the cause and the key to fix', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({ withoutGateway: true });
  });
  after(async () => {
    await stack?.close();
  });

  async function write(name: string, text: string): Promise<string> {
    const file = join(stack.dir, name);
    await writeFile(file, text);
    return file;
  }

  it('the complete example of docs/gateway.md passes check against a development IdP', async () => {
    // The example's fixed ports are those of `npm start`; the test's servers have their own.
    const text = (await completeExample())
      .replaceAll('http://127.0.0.1:4000', stack.idp.issuer)
      .replaceAll('http://127.0.0.1:5001/mcp', stack.crm.url);
    const run = await runMcpIam(['check', '--config', await write('doc.yaml', text)], GATEWAY_ENV);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /all checks passed/);
  });

  it('an http issuer without allow_insecure_loopback_http exits 78 naming the YAML key to set', async () => {
    const text = gatewayYaml(stack.yamlInput).replace(
      '    allow_insecure_loopback_http: true\n',
      '',
    );
    const run = await runMcpIam(
      ['check', '--config', await write('no-loopback.yaml', text)],
      GATEWAY_ENV,
    );
    assert.equal(run.code, 78, run.stderr);
    assert.match(
      run.stderr,
      /no-loopback\.yaml:\d+:\d+: issuers\[0\]\.issuer: uses http; set issuers\[0\]\.allow_insecure_loopback_http: true/,
    );
    assert.doesNotMatch(run.stderr, /allowInsecureLoopbackHttp/);
  });

  it('an upstream nobody listens on: the FAIL names its URL and ECONNREFUSED', async () => {
    const dead = `http://127.0.0.1:${await freePort()}/mcp`;
    const text = gatewayYaml({ ...stack.yamlInput, crmUpstreamUrl: dead });
    const run = await runMcpIam(
      ['check', '--config', await write('dead-up.yaml', text)],
      GATEWAY_ENV,
    );
    assert.equal(run.code, 1, run.stdout);
    assert.equal(
      line(run.stdout, 'route crm upstream'),
      `FAIL  route crm upstream: GET ${dead}: no answer (ECONNREFUSED)`,
    );
  });

  it('an issuer that is down: the FAIL names the metadata URL and ECONNREFUSED', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const text = gatewayYaml(stack.yamlInput).replaceAll(stack.idp.issuer, down);
    const run = await runMcpIam(['check', '--config', await write('down.yaml', text)], GATEWAY_ENV);
    assert.equal(run.code, 1, run.stdout);
    const metadata = line(run.stdout, `issuer ${down}: metadata`);
    assert.match(metadata, /^FAIL/, run.stdout);
    assert.ok(
      metadata.includes(`${down}/.well-known/oauth-authorization-server failed (ECONNREFUSED)`),
      metadata,
    );
    assert.match(
      line(run.stdout, `issuer ${down}: introspection`),
      new RegExp(`POST ${down}/token/introspection: no answer \\(ECONNREFUSED\\)`),
    );
  });

  it('a refused introspection client: the FAIL names the endpoint, invalid_client, the client id and its keys', async () => {
    const text = gatewayYaml({ ...stack.yamlInput, introspectionSecret: 'not-the-secret' });
    const run = await runMcpIam(
      ['check', '--config', await write('intro.yaml', text)],
      GATEWAY_ENV,
    );
    assert.equal(run.code, 1, run.stdout);
    const fail = line(run.stdout, `issuer ${stack.idp.issuer}: introspection`);
    for (const part of [
      `${stack.idp.issuer}/token/introspection`,
      'HTTP 401 invalid_client',
      '"mcp-gateway" (issuers[0].introspection.client_id)',
      'issuers[0].introspection.client_secret',
    ]) {
      assert.ok(fail.includes(part), `${part} in: ${fail}`);
    }
    assert.ok(!run.stdout.includes('not-the-secret'), 'the secret is not printed');
  });

  it('a refused gateway client: the FAIL names the token endpoint, invalid_client and client.client_id', async () => {
    const text = gatewayYaml({ ...stack.yamlInput, clientSecret: 'not-the-secret' });
    const run = await runMcpIam(
      ['check', '--config', await write('client.yaml', text)],
      GATEWAY_ENV,
    );
    assert.equal(run.code, 1, run.stdout);
    const fail = line(run.stdout, 'client mcp-gateway: token exchange');
    for (const part of [
      `${stack.idp.issuer}/token`,
      'HTTP 401 invalid_client',
      '"mcp-gateway" (client.client_id)',
      'client.client_secret',
    ]) {
      assert.ok(fail.includes(part), `${part} in: ${fail}`);
    }
  });

  it('metadata that names another issuer: the FAIL quotes the issuer it names and the configured one', async () => {
    const configured = `${stack.idp.issuer}/`;
    const text = gatewayYaml({ ...stack.yamlInput, issuer: configured });
    const run = await runMcpIam(
      ['check', '--config', await write('slash.yaml', text)],
      GATEWAY_ENV,
    );
    assert.equal(run.code, 1, run.stdout);
    const fail = line(run.stdout, `issuer ${configured}: metadata`);
    assert.ok(fail.includes(`names the issuer "${stack.idp.issuer}"`), fail);
    assert.ok(fail.includes(`the configured "${configured}"`), fail);
  });
});

describe('mcp-iam check and the typ of an IdP it recognises', () => {
  let idp: LoopbackIdp;

  before(async () => {
    idp = await LoopbackIdp.start();
  });
  after(async () => {
    await idp?.close();
  });

  it('warns when token_types leaves out the typ a Keycloak realm writes, naming both and the key', async () => {
    const realm = idp.realm('corp');
    const { publicKey } = await generateKeyPair('ES256');
    realm.jwks = {
      keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }],
    };
    const dir = await mkdtemp(join(tmpdir(), 'mcp-iam-check-'));
    const file = join(dir, 'keycloak.yaml');
    await writeFile(
      file,
      `public_url: http://127.0.0.1:8080
issuers:
  - issuer: ${realm.issuer}
    allow_insecure_loopback_http: true
routes:
  - name: notes
    path: /notes/mcp
    upstream: { command: ${process.execPath} }
audit: { sink: spool, path: ./data/audit }
`,
    );
    try {
      const run = await runMcpIam(['check', '--config', file]);
      assert.equal(run.code, 0, `a warning does not fail the check:\n${run.stdout}${run.stderr}`);
      assert.equal(
        line(run.stdout, `issuer ${realm.issuer}: token types`),
        `WARN  issuer ${realm.issuer}: token types: Keycloak writes typ "JWT", but ` +
          'issuers[0].token_types is [at+jwt] (the default): every such token is refused ' +
          '(token_bad_type); set issuers[0].token_types: [at+jwt, JWT]',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
