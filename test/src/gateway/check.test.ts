/**
 * `mcp-iam check` against a running development IdP and upstreams: `checkConfig` reports every
 * probe as ok for a good configuration, and a FAIL naming the problem for a wrong introspection
 * secret, a wrong secret of the gateway's own client and an upstream nobody listens on; the CLI
 * exits 0 for a good file and non-zero with `file:line` for a file with an unknown key.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkConfig, formatCheckReport, type CheckReport } from '@mcp-iam/gateway';
import { MCP_IAM_CLI } from './support/cli.js';
import { freePort } from './support/ports.js';
import {
  GATEWAY_ENV,
  gatewayYaml,
  startStack,
  type GatewayYamlInput,
  type Stack,
} from './support/stack.js';

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MCP_IAM_CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', ...GATEWAY_ENV }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function failures(report: CheckReport): string[] {
  return report.findings.filter((f) => !f.ok).map((f) => `${f.subject}: ${f.detail}`);
}

describe('mcp-iam check against a running IdP and upstreams', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({ withoutGateway: true });
  });
  after(async () => {
    await stack?.close();
  });

  async function variant(name: string, change: Partial<GatewayYamlInput>): Promise<string> {
    const file = join(stack.dir, name);
    await writeFile(file, gatewayYaml({ ...stack.yamlInput, ...change }));
    return file;
  }

  it('reports ok for a configuration whose IdP, introspection client and upstreams all answer', async () => {
    const report = await checkConfig({ configFile: stack.configFile, env: GATEWAY_ENV });
    assert.deepEqual(failures(report), [], formatCheckReport(report));
    assert.equal(report.ok, true);
    const subjects = report.findings.map((f) => f.subject);
    assert.ok(subjects.includes(`issuer ${stack.idp.issuer}: key set`));
    assert.ok(subjects.includes(`issuer ${stack.idp.issuer}: introspection`));
    for (const route of ['crm', 'direct', 'notes']) {
      assert.ok(subjects.includes(`route ${route} upstream`), route);
    }
  });

  it('reports a FAIL naming introspection when the introspection secret is wrong', async () => {
    const configFile = await variant('wrong-introspection.yaml', {
      introspectionSecret: 'not-the-secret',
    });
    const report = await checkConfig({ configFile, env: GATEWAY_ENV });
    assert.equal(report.ok, false);
    const failed = report.findings.filter((f) => !f.ok);
    assert.equal(failed.length, 1, formatCheckReport(report));
    assert.equal(failed[0]?.subject, `issuer ${stack.idp.issuer}: introspection`);
    assert.match(failed[0]?.detail ?? '', /client authentication refused/);
    assert.ok(!formatCheckReport(report).includes('not-the-secret'), 'the secret is not printed');
  });

  it("reports a FAIL naming the gateway's own client when its token-exchange secret is wrong", async () => {
    const configFile = await variant('wrong-client.yaml', { clientSecret: 'not-the-secret' });
    const report = await checkConfig({ configFile, env: GATEWAY_ENV });
    assert.equal(report.ok, false, formatCheckReport(report));
    const failed = report.findings.filter((f) => !f.ok);
    assert.ok(
      failed.some(
        (f) => /client/i.test(f.subject) && /mcp-gateway/.test(`${f.subject} ${f.detail}`),
      ),
      formatCheckReport(report),
    );
    assert.ok(!formatCheckReport(report).includes('not-the-secret'), 'the secret is not printed');
  });

  it('reports a FAIL naming the route whose upstream does not answer', async () => {
    const deadUrl = `http://127.0.0.1:${await freePort()}/mcp`;
    const configFile = await variant('dead-upstream.yaml', { crmUpstreamUrl: deadUrl });
    const report = await checkConfig({ configFile, env: GATEWAY_ENV, timeoutMs: 2_000 });
    assert.equal(report.ok, false);
    const failed = report.findings
      .filter((f) => !f.ok)
      .map((f) => f.subject)
      .sort();
    assert.deepEqual(
      failed,
      ['route crm upstream', 'route direct upstream'],
      formatCheckReport(report),
    );
  });

  it('the CLI exits 0 for a good configuration', async () => {
    const run = await runCli(['check', '--config', stack.configFile]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /all checks passed/);
  });

  it('the CLI exits 78 and names file:line of an unknown key', async () => {
    const text = gatewayYaml({ ...stack.yamlInput, extra: 'lsiten_typo: true\n' });
    const line = text.split('\n').findIndex((l) => l.startsWith('lsiten_typo')) + 1;
    const file = join(stack.dir, 'bad.yaml');
    await writeFile(file, text);
    const run = await runCli(['check', '--config', file]);
    assert.equal(run.code, 78, run.stderr);
    assert.ok(
      run.stderr.includes(`bad.yaml:${line}`),
      `stderr names bad.yaml:${line}:\n${run.stderr}\nstdout:\n${run.stdout}`,
    );
    assert.match(run.stderr, /lsiten_typo/);
  });

  it('the gateway command refuses to start on that file with exit 78 and file:line on stderr', async () => {
    const text = gatewayYaml({ ...stack.yamlInput, extra: 'lsiten_typo: true\n' });
    const line = text.split('\n').findIndex((l) => l.startsWith('lsiten_typo')) + 1;
    const file = join(stack.dir, 'bad-gateway.yaml');
    await writeFile(file, text);
    const run = await runCli(['gateway', '--config', file]);
    assert.equal(run.code, 78, run.stderr);
    assert.ok(run.stderr.includes(`bad-gateway.yaml:${line}`), run.stderr);
  });
});
