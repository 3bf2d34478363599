/**
 * Specification of configuration reload: a valid file swaps the route table atomically (unchanged
 * upstreams are kept), an invalid one leaves the running configuration in force, and SIGHUP
 * triggers a reload.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfigFile } from '../config/loader.js';
import { answerJson, captureLogs, rpc, startUpstream, TestGuard } from '../testing/harness.js';
import { installSighupReload, reloadConfig } from './reload.js';
import { Gateway } from './server.js';

const TOKEN = 'alice.token';
const LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

function yaml(upstreamUrl: string, routes: string[]): string {
  return `listen: { host: 127.0.0.1, port: 0 }
public_url: http://gateway.test
issuers:
  - issuer: http://idp.test
routes:
${routes.map((path, i) => `  - name: r${i}\n    path: ${path}\n    upstream: { url: ${upstreamUrl} }\n`).join('')}audit: { sink: stdout }
`;
}

describe('configuration reload', () => {
  test('a valid file swaps the route table; an invalid one keeps the running table', async () => {
    const up = await startUpstream((_req, res) =>
      answerJson(res, 200, { jsonrpc: '2.0', id: 1, result: { tools: [] } }),
    );
    const dir = await mkdtemp(join(tmpdir(), 'mcp-iam-reload-'));
    const file = join(dir, 'gateway.yaml');
    await writeFile(file, yaml(up.url, ['/a/mcp']));
    const logs = captureLogs();
    const built: string[] = [];
    const gateway = new Gateway({
      config: (await loadConfigFile(file)).config,
      guards: (route) => {
        built.push(route.name);
        return new TestGuard();
      },
      logger: logs.logger,
    });
    try {
      const base = (await gateway.listen()).url;
      assert.equal((await rpc(base, '/a/mcp', TOKEN, LIST)).status, 200);
      assert.equal((await rpc(base, '/b/mcp', TOKEN, LIST)).status, 404);

      await writeFile(file, yaml(up.url, ['/a/mcp', '/b/mcp']));
      assert.equal(await reloadConfig({ gateway, configPath: file, logger: logs.logger }), true);
      assert.equal((await rpc(base, '/b/mcp', TOKEN, LIST)).status, 200);
      assert.equal((await rpc(base, '/a/mcp', TOKEN, LIST)).status, 200);

      await writeFile(file, yaml(up.url, ['/a/mcp', '/a/mcp']));
      assert.equal(await reloadConfig({ gateway, configPath: file, logger: logs.logger }), false);
      assert.match(logs.text(), /gateway\.yaml:\d+:\d+: routes\[1\]\.path: duplicate route path/);
      assert.equal(
        (await rpc(base, '/b/mcp', TOKEN, LIST)).status,
        200,
        'old table still in force',
      );
      assert.deepEqual(built, ['r0', 'r0', 'r1']);
    } finally {
      await gateway.close();
      await up.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a guard that cannot be built refuses the reload and keeps the old table', async () => {
    const up = await startUpstream((_req, res) => answerJson(res, 200, {}));
    const dir = await mkdtemp(join(tmpdir(), 'mcp-iam-reload-'));
    const file = join(dir, 'gateway.yaml');
    await writeFile(file, yaml(up.url, ['/a/mcp']));
    const logs = captureLogs();
    let fail = false;
    const gateway = new Gateway({
      config: (await loadConfigFile(file)).config,
      guards: () => {
        if (fail) throw new Error('cannot build guard');
        return new TestGuard();
      },
      logger: logs.logger,
    });
    try {
      const base = (await gateway.listen()).url;
      fail = true;
      await writeFile(file, yaml(up.url, ['/b/mcp']));
      assert.equal(await reloadConfig({ gateway, configPath: file, logger: logs.logger }), false);
      assert.equal((await rpc(base, '/a/mcp', TOKEN, LIST)).status, 200);
      assert.equal((await rpc(base, '/b/mcp', TOKEN, LIST)).status, 404);
    } finally {
      await gateway.close();
      await up.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('SIGHUP reloads the configuration file', async () => {
    const up = await startUpstream((_req, res) => answerJson(res, 200, {}));
    const dir = await mkdtemp(join(tmpdir(), 'mcp-iam-reload-'));
    const file = join(dir, 'gateway.yaml');
    await writeFile(file, yaml(up.url, ['/a/mcp']));
    const logs = captureLogs();
    const gateway = new Gateway({
      config: (await loadConfigFile(file)).config,
      guards: () => new TestGuard(),
      logger: logs.logger,
    });
    const uninstall = installSighupReload({ gateway, configPath: file, logger: logs.logger });
    try {
      await gateway.listen();
      await writeFile(file, yaml(up.url, ['/c/mcp']));
      process.emit('SIGHUP', 'SIGHUP');
      const deadline = Date.now() + 5000;
      while (gateway.config.routes[0]?.path !== '/c/mcp' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal(gateway.config.routes[0]?.path, '/c/mcp');
    } finally {
      uninstall();
      await gateway.close();
      await up.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
