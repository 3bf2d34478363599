/** Specification of the configuration loader: schema, positions in errors, interpolation, rules. */
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, formatConfigIssue } from './errors.js';
import { gatewayJsonSchema } from './json-schema.js';
import { loadConfig, loadConfigFile } from './loader.js';
import { resolveLimits, resourceUrl } from './schema.js';

const FILE = 'gateway.yaml';
const ENV = { GATEWAY_SECRET: 's3cret' };

/** The DESIGN example; line numbers below refer to this text. */
const EXAMPLE = `listen: { host: 127.0.0.1, port: 8080 }
public_url: http://127.0.0.1:8080
issuers:
  - issuer: http://127.0.0.1:4000
    algorithms: [ES256, RS256]
    token_types: [at+jwt]
    scope_claim: scope
client: { client_id: mcp-gateway, client_secret: \${GATEWAY_SECRET} }
routes:
  - name: crm
    path: /crm/mcp
    upstream: { url: http://127.0.0.1:5001/mcp }
    downstream: { mode: token-exchange, audience: http://127.0.0.1:5001/mcp, scope: crm.read crm.write }
    policy:
      default: deny
      methods: { initialize: {}, tools/list: { scopes: [crm.read] } }
      tools:
        search_contacts: { scopes: [crm.read] }
        update_contact: { scopes: [crm.write], acr: [mfa], max_age: 300 }
audit: { sink: spool, path: ./data/audit, mode: strict }
`;

function load(text: string, env: Record<string, string> = ENV) {
  return loadConfig(text, { fileName: FILE, env });
}

function problems(text: string, env: Record<string, string> = ENV): string[] {
  try {
    load(text, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.issues.map(formatConfigIssue);
  }
  assert.fail('expected the configuration to be refused');
}

function codeOf(text: string, env: Record<string, string> = ENV): string {
  try {
    load(text, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.code;
  }
  assert.fail('expected the configuration to be refused');
}

describe('config loader', () => {
  test('accepts the DESIGN example and interpolates ${ENV}', () => {
    const { config } = load(EXAMPLE);
    assert.equal(config.client?.client_secret, 's3cret');
    assert.equal(config.routes[0]?.policy?.tools?.update_contact?.max_age, 300);
    assert.equal(resourceUrl(config, config.routes[0]!), 'http://127.0.0.1:8080/crm/mcp');
    assert.deepEqual(resolveLimits(config), {
      maxBodyBytes: 1048576,
      maxTokenBytes: 8192,
      upstreamTimeoutMs: 30000,
    });
  });

  test('an unknown key is an error naming file, line, column and key path', () => {
    const text = EXAMPLE.replace('    policy:\n', '    polcy: {}\n    policy:\n');
    assert.deepEqual(problems(text), ['gateway.yaml:14:5: routes[0].polcy: unknown key']);
  });

  test('a wrong type names file, line, column and key path', () => {
    const text = EXAMPLE.replace('max_age: 300', 'max_age: soon');
    assert.deepEqual(problems(text), [
      'gateway.yaml:19:69: routes[0].policy.tools.update_contact.max_age: expected a number',
    ]);
  });

  test('a scope that is not an RFC 6749 scope token is an error naming file, line and key path', () => {
    const text = EXAMPLE.replace(
      'search_contacts: { scopes: [crm.read] }',
      'search_contacts: { scopes: ["crm read"] }',
    );
    const [problem] = problems(text);
    assert.match(
      problem ?? '',
      /^gateway\.yaml:\d+:\d+: routes\[0\]\.policy\.tools\.search_contacts\.scopes\[0\]: expected a scope token/,
    );
  });

  test('a missing required key is reported at its parent', () => {
    const text = EXAMPLE.replace('    path: /crm/mcp\n', '');
    assert.deepEqual(problems(text), [
      'gateway.yaml:10:5: routes[0].path: required key is missing',
    ]);
  });

  test('an unset environment variable names the variable, the file and the line', () => {
    const lines = problems(EXAMPLE, {});
    assert.deepEqual(lines, ['gateway.yaml:8:50: environment variable GATEWAY_SECRET is not set']);
    assert.equal(codeOf(EXAMPLE, {}), 'config_env_missing');
  });

  test('${NAME:-default} uses the default when unset or empty, and $$ is a literal $', () => {
    const text = EXAMPLE.replace('port: 8080', 'port: ${PORT:-9090}').replace(
      'scope_claim: scope',
      () => 'scope_claim: "$${NOT_A_VAR}${SUFFIX:-}"',
    );
    const { config } = load(text, { ...ENV, SUFFIX: '' });
    assert.equal(config.listen?.port, 9090);
    assert.equal(config.issuers[0]?.scope_claim, '${NOT_A_VAR}');
    assert.equal(load(text, { ...ENV, PORT: '7000' }).config.listen?.port, 7000);
  });

  test('an interpolated value keeps its string type when quoted', () => {
    const text = EXAMPLE.replace('port: 8080', 'port: "${PORT}"');
    assert.deepEqual(problems(text, { ...ENV, PORT: '7000' }), [
      'gateway.yaml:1:34: listen.port: expected a number',
    ]);
  });

  test('a duplicate route path is an error at the second route', () => {
    const second = `  - name: crm2
    path: /crm/mcp
    upstream: { url: http://127.0.0.1:5002/mcp }
`;
    const text = EXAMPLE.replace('audit:', `${second}audit:`);
    assert.deepEqual(problems(text), [
      'gateway.yaml:21:11: routes[1].path: duplicate route path (also routes[0])',
    ]);
  });

  test('public_url must be an absolute URL without query or fragment', () => {
    for (const bad of [
      '/relative',
      'http://127.0.0.1:8080/?x=1',
      'http://127.0.0.1:8080/#f',
      'ftp://x',
    ]) {
      const lines = problems(
        EXAMPLE.replace('public_url: http://127.0.0.1:8080', `public_url: "${bad}"`),
      );
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /^gateway\.yaml:2:13: public_url: /);
    }
  });

  test('route paths start with /, have no dot segments and no //', () => {
    for (const bad of ['crm/mcp', '/crm/../mcp', '/crm//mcp', '/crm/mcp;x', '/healthz']) {
      const lines = problems(EXAMPLE.replace('path: /crm/mcp', `path: "${bad}"`));
      assert.equal(lines.length, 1, bad);
      assert.match(lines[0]!, /^gateway\.yaml:11:11: routes\[0\]\.path: /);
    }
  });

  test('upstream is exactly one of url and command', () => {
    const both = EXAMPLE.replace(
      'upstream: { url: http://127.0.0.1:5001/mcp }',
      'upstream: { url: http://127.0.0.1:5001/mcp, command: node }',
    );
    assert.match(
      problems(both).join('\n'),
      /routes\[0\]\.upstream: expected exactly one of url or command/,
    );
    const neither = EXAMPLE.replace('upstream: { url: http://127.0.0.1:5001/mcp }', 'upstream: {}');
    assert.match(
      problems(neither).join('\n'),
      /routes\[0\]\.upstream: expected exactly one of url or command/,
    );
  });

  test('issuers named by a route must be configured', () => {
    const text = EXAMPLE.replace(
      '    path: /crm/mcp\n',
      '    path: /crm/mcp\n    issuers: [http://evil]\n',
    );
    assert.deepEqual(problems(text), [
      'gateway.yaml:12:15: routes[0].issuers[0]: unknown issuer "http://evil"',
    ]);
  });

  test('only asymmetric algorithms are accepted', () => {
    const lines = problems(
      EXAMPLE.replace('algorithms: [ES256, RS256]', 'algorithms: [ES256, HS256]'),
    );
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /^gateway\.yaml:5:25: issuers\[0\]\.algorithms\[1\]: expected an asymmetric JWS algorithm/,
    );
    assert.equal(problems(EXAMPLE.replace('[ES256, RS256]', '[none]')).length, 1);
  });

  test('downstream token-exchange requires the gateway client', () => {
    const text = EXAMPLE.replace(/^client:.*\n/m, '');
    assert.deepEqual(problems(text), [
      'gateway.yaml:12:25: routes[0].downstream.mode: token-exchange requires client',
    ]);
  });

  test('audit mode is strict, buffered or best-effort', () => {
    assert.match(
      problems(EXAMPLE.replace('mode: strict', 'mode: lazy')).join(),
      /^gateway\.yaml:20:49: audit\.mode: invalid option/,
    );
    assert.equal(
      load(EXAMPLE.replace('mode: strict', 'mode: best-effort')).config.audit.mode,
      'best-effort',
    );
  });

  test('stdio-only keys are refused on an HTTP upstream', () => {
    const text = EXAMPLE.replace(
      'upstream: { url: http://127.0.0.1:5001/mcp }',
      'upstream: { url: http://127.0.0.1:5001/mcp, isolation: shared }',
    );
    assert.match(
      problems(text).join(),
      /routes\[0\]\.upstream\.isolation: only allowed with a stdio command/,
    );
  });

  test('duplicate YAML keys are syntax errors with a line', () => {
    const text = EXAMPLE.replace(
      'public_url: http://127.0.0.1:8080\n',
      'public_url: http://127.0.0.1:8080\npublic_url: http://x\n',
    );
    const lines = problems(text);
    assert.equal(codeOf(text), 'config_syntax');
    assert.match(lines[0]!, /^gateway\.yaml:3:1: /);
  });

  test('an alias bomb is a syntax error, not a crash', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++)
      bomb.push(
        `${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(10)
          .fill(`*${'abcdefghij'[i - 1]}`)
          .join(', ')}]`,
      );
    const text = `${EXAMPLE}${bomb.join('\n')}\n`;
    assert.equal(codeOf(text), 'config_syntax');
  });

  test('loadConfigFile names the file by its base name and reports unreadable files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-iam-config-'));
    try {
      const path = join(dir, 'gw.yaml');
      await writeFile(path, EXAMPLE.replace('max_age: 300', 'max_age: soon'));
      await assert.rejects(loadConfigFile(path, { env: ENV }), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /^gw\.yaml:19:69: /);
        return true;
      });
      await assert.rejects(
        loadConfigFile(join(dir, 'missing.yaml'), { env: ENV }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.equal(e.code, 'config_unreadable');
          return true;
        },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an error message never contains an interpolated secret', () => {
    const text = EXAMPLE.replace('mode: strict', 'mode: ${GATEWAY_SECRET}');
    assert.doesNotMatch(problems(text).join('\n'), /s3cret/);
  });
});

const docsDir = new URL('../../../../docs/', import.meta.url);

function schemaKeys(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const item of node) schemaKeys(item, into);
  else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    const props = record.properties;
    if (props && typeof props === 'object') for (const key of Object.keys(props)) into.add(key);
    for (const value of Object.values(record)) schemaKeys(value, into);
  }
  return into;
}

describe('published schema and reference', () => {
  test('docs/gateway.schema.json equals the schema generated from the zod schema', async () => {
    const committed: unknown = JSON.parse(
      await readFile(new URL('gateway.schema.json', docsDir), 'utf8'),
    );
    assert.deepEqual(committed, gatewayJsonSchema());
  });

  test('docs/gateway.md mentions every configuration key', async () => {
    const doc = await readFile(new URL('gateway.md', docsDir), 'utf8');
    const missing = [...schemaKeys(gatewayJsonSchema(), new Set())].filter(
      (k) => !doc.includes(`\`${k}\``),
    );
    assert.deepEqual(missing, []);
  });
});
