// With the default data directory, the commands `npm start` prints read and write files only
// under data/ at the repository root, which git ignores: tokens and keys never show up as
// changes to commit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_DATA_DIR, type DemoFiles } from './demo-files.js';
import { REPO_ROOT } from './stack.js';
import { tryItCommands, tryItLines, type TryItStack } from './try-it.js';

const stack: TryItStack = {
  issuer: 'http://127.0.0.1:4000',
  urls: {
    crm: 'http://127.0.0.1:5001/mcp',
    insights: 'http://127.0.0.1:5002/mcp',
    gateway: 'http://127.0.0.1:8080',
    gatewayCrm: 'http://127.0.0.1:8080/crm/mcp',
    gatewayInsights: 'http://127.0.0.1:8080/insights/mcp',
    gatewayNotes: 'http://127.0.0.1:8080/notes/mcp',
  },
  auditDirs: { crm: '/tmp/a/crm', insights: '/tmp/a/insights', gateway: '/tmp/a/gateway' },
  gatewayProblem: undefined,
  gatewayRunning: true,
};

const files: DemoFiles = {
  dir: DEFAULT_DATA_DIR,
  env: join(DEFAULT_DATA_DIR, 'demo.env'),
  tokens: join(DEFAULT_DATA_DIR, 'tokens'),
  nightlySyncKey: join(DEFAULT_DATA_DIR, 'keys', 'nightly-sync.jwk.json'),
};

/** Whether git ignores `path` (relative to the repository root); undefined outside a git checkout. */
function ignoredByGit(path: string): boolean | undefined {
  try {
    execFileSync('git', ['check-ignore', '--quiet', '--no-index', path], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
    });
    return true;
  } catch (error) {
    const status = (error as { status?: number | null }).status;
    return status === 1 ? false : undefined;
  }
}

describe('the printed commands and the data directory', () => {
  const commands = Object.values(tryItCommands(stack, files));
  const paths = commands.flatMap((command) =>
    [...command.matchAll(/(?:--out|--private-key|\$\(cat|\.) (\S+?)[);]?(?:\s|$)/g)].map(
      (m) => m[1] as string,
    ),
  );

  it('every file a printed command writes or reads is under data/, named from the repository root', () => {
    assert.ok(paths.length >= 9, paths.join(' '));
    for (const path of paths) assert.match(path, /^data\//);
    for (const name of ['alice', 'alice-mfa', 'ci', 'nightly-sync']) {
      assert.ok(paths.includes(`data/tokens/${name}.token`), name);
    }
    assert.ok(paths.includes('data/keys/nightly-sync.jwk.json'));
    assert.ok(paths.includes('data/demo.env'));
  });

  it('git ignores data/ and everything the printed commands write there', (t) => {
    if (ignoredByGit('data/demo.env') === undefined) {
      t.skip('not a git checkout, or git is not installed');
      return;
    }
    for (const path of paths) assert.equal(ignoredByGit(path), true, `${path} is ignored by git`);
  });

  it('the printed text names where tokens go and that git ignores it', () => {
    const text = tryItLines(stack, files).join('\n');
    assert.match(text, /Tokens go to data\/tokens\/ \(git ignores data\/\)/);
    assert.match(
      text,
      /^ {2}set -a; \. data\/demo\.env; set \+a; npx mcp-iam check --config examples\/stack\/gateway\.yaml$/m,
    );
  });
});
