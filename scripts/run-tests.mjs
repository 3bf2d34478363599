// Runs every compiled test file of every workspace with Node's built-in test runner.
// Test files are `*.test.js` under a workspace's dist/ (compiled from `*.test.ts` beside the code).
// Usage: node scripts/run-tests.mjs [workspace-dir ...]   (default: all workspaces)
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).length
  ? process.argv.slice(2)
  : [
      'packages/core',
      'packages/audit',
      'packages/dev-idp',
      'packages/gateway',
      'packages/cli',
      'examples',
      'test',
      'bench',
    ];

const files = [];
for (const root of roots) {
  const dist = join(root, 'dist');
  if (!existsSync(dist)) continue;
  for (const entry of readdirSync(dist, { recursive: true })) {
    const rel = String(entry);
    if (rel.endsWith('.test.js') && !rel.split('/').includes('node_modules'))
      files.push(join(dist, rel));
  }
}
files.sort();
if (files.length === 0) {
  console.error('run-tests: no compiled test files found; did the build run?');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, MCP_IAM_TEST: '1' } },
);
process.exit(result.status ?? 1);
