/**
 * `mcp-iam check --token FILE --route NAME`, run as a user runs it, with real tokens of the
 * development IdP: the route's own pipeline decides; the answer says in plain words whether the
 * route accepts the token, names each failing claim with what was expected (and the key that says
 * so) and what was found, lists each operation of the route's policy, exits 1 when the route
 * refuses the token, and never prints the token.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { obtainToken } from '@mcp-iam/cli';
import { loadConfigFile, verdictForToken } from '@mcp-iam/gateway';
import { runMcpIam } from './support/cli.js';
import { GATEWAY_ENV, gatewayYaml, startStack, type Stack } from './support/stack.js';

describe('mcp-iam check --token', () => {
  let stack: Stack;
  /** ci-bot's token for the `direct` route, scope crm.read. */
  let token: string;
  let tokenFile: string;

  before(async () => {
    stack = await startStack({ withoutGateway: true });
    token = (
      await obtainToken({
        issuer: stack.idp.issuer,
        clientId: 'ci-bot',
        clientSecret: 'ci-bot-secret',
        clientCredentials: true,
        resource: stack.routes.direct,
        scope: 'crm.read',
        log: () => undefined,
      })
    ).access_token;
    tokenFile = join(stack.dir, 'ci-bot.token');
    await writeFile(tokenFile, `${token}\n`);
  });
  after(async () => {
    await stack?.close();
  });

  function check(args: string[], configFile = stack.configFile) {
    return runMcpIam(['check', '--config', configFile, '--token', tokenFile, ...args], GATEWAY_ENV);
  }

  it('a token the route accepts: exit 0, every claim ok, every operation allowed', async () => {
    const run = await check(['--route', 'direct']);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    for (const claim of ['issuer', 'typ', 'algorithm', 'audience', 'expiry', 'scopes']) {
      assert.match(run.stdout, new RegExp(`^ok {4}${claim}: `, 'm'), claim);
    }
    assert.match(run.stdout, /^ok {4}tools\/call search_contacts: allowed$/m);
    assert.match(
      run.stdout,
      /route direct accepts this token for every operation its policy lists/,
    );
    assert.ok(
      !run.stdout.includes(token) && !run.stderr.includes(token),
      'the token is not printed',
    );
  });

  it('a token for another route: exit 1 naming the audience expected and the one found', async () => {
    const run = await check(['--route', 'crm']);
    assert.equal(run.code, 1, run.stdout);
    assert.ok(
      run.stdout.includes(
        `FAIL  audience: expected [${stack.routes.crm}] (public_url + path); found "${stack.routes.direct}"`,
      ),
      run.stdout,
    );
    assert.match(run.stdout, /FAIL {2}verification: the gateway answers 401 \(token_bad_audience/);
    assert.match(run.stdout, /route crm refuses this token \(token_bad_audience\)/);
  });

  it('a typ that token_types leaves out: exit 1 naming the typ found and issuers[0].token_types', async () => {
    const text = gatewayYaml(stack.yamlInput).replace(
      '    algorithms: [ES256, RS256]\n',
      '    algorithms: [ES256, RS256]\n    token_types: [JWT]\n',
    );
    const configFile = join(stack.dir, 'typ.yaml');
    await writeFile(configFile, text);
    const run = await check(['--route', 'direct'], configFile);
    assert.equal(run.code, 1, run.stdout);
    assert.ok(
      run.stdout.includes(
        'FAIL  typ: expected one of [JWT] (issuers[0].token_types); found "at+jwt"; if this IdP ' +
          'writes at+jwt in its access tokens, add it to issuers[0].token_types',
      ),
      run.stdout,
    );
    assert.match(run.stdout, /token_bad_type/);
  });

  it('an operation whose scope the token lacks is named with the scopes it needs', async () => {
    const other = join(stack.dir, 'crm.token');
    const crmToken = (
      await obtainToken({
        issuer: stack.idp.issuer,
        clientId: 'ci-bot',
        clientSecret: 'ci-bot-secret',
        clientCredentials: true,
        resource: stack.routes.crm,
        scope: 'crm.read',
        log: () => undefined,
      })
    ).access_token;
    await writeFile(other, crmToken);
    const partial = await runMcpIam(
      ['check', '--config', stack.configFile, '--token', other, '--route', 'crm'],
      GATEWAY_ENV,
    );
    assert.equal(partial.code, 0, `some operations allow it:\n${partial.stdout}`);
    assert.match(
      partial.stdout,
      /^FAIL {2}tools\/call update_contact: 403 insufficient_scope: needs scopes \[crm\.write\]; the token grants \[crm\.read\]$/m,
    );
    assert.match(partial.stdout, /^WARN {2}scopes: .*missing \[crm\.write\]$/m);
    assert.match(partial.stdout, /accepts this token for 3 of 4 operations/);
  });

  it('an expired token: the expiry is named with the time it expired, and the route refuses it', async () => {
    const { config } = await loadConfigFile(stack.configFile, { env: GATEWAY_ENV });
    const later = Date.now() + 2 * 3600_000;
    const verdict = await verdictForToken({ config, route: 'direct', token, now: () => later });
    assert.equal(verdict.accepted, false);
    const expiry = verdict.claims.find((c) => c.claim === 'expiry');
    assert.equal(expiry?.level, 'fail');
    assert.match(
      expiry?.detail ?? '',
      /^expired at \d{4}-\d\d-\d\dT.*, \d+ min ago \(clock tolerance 30 s\)$/,
    );
    assert.equal(verdict.verification.ok, false);
    assert.match(verdict.verification.ok ? '' : verdict.verification.reason, /^token_expired$/);
  });

  it('a route the file does not have is a usage error naming the routes it has', async () => {
    const run = await check(['--route', 'crmm']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--route crmm: .* has no such route \(routes: crm, direct, notes\)/);
  });

  it('--route without --token is a usage error', async () => {
    const run = await runMcpIam(
      ['check', '--config', stack.configFile, '--route', 'crm'],
      GATEWAY_ENV,
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--route NAME needs --token FILE/);
  });
});
