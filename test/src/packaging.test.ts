/**
 * What each published package holds: `npm pack` of every package ships its compiled library and
 * declarations, and no tests, test fixtures, benchmarks, source maps (they point at sources the
 * tarball does not hold) or build state; every entry point package.json names is in it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGES = ['core', 'audit', 'dev-idp', 'gateway', 'cli'];
const UNWANTED =
  /\.test\.|(^|\/)testing\/|\.fixture\.|test-support|(^|\/)bench\/|upstream\/fixtures\/|\.map$|tsbuildinfo/;

interface PackedFile {
  readonly path: string;
}

function packedFiles(dir: string): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [pack] = JSON.parse(out) as Array<{ files: PackedFile[] }>;
  return pack!.files.map((f) => f.path);
}

describe('published packages', () => {
  for (const name of PACKAGES) {
    it(`@mcp-iam/${name} ships its library and none of its tests, fixtures, benches or maps`, () => {
      const dir = join(ROOT, 'packages', name);
      const files = packedFiles(dir);
      assert.deepEqual(
        files.filter((f) => UNWANTED.test(f)),
        [],
      );
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        main: string;
        types: string;
        bin?: Record<string, string>;
      };
      for (const entry of [manifest.main, manifest.types, ...Object.values(manifest.bin ?? {})])
        assert.ok(files.includes(entry.replace(/^\.\//, '')), `${entry} is in the tarball`);
      assert.ok(
        files.some((f) => f.endsWith('.d.ts')),
        'declarations are shipped',
      );
    });
  }
});
