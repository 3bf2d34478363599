#!/usr/bin/env node
// The `mcp-iam` executable. It is a source file, not build output, so that npm links it into
// node_modules/.bin at install time, before `npm run build` has produced dist/.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (existsSync(main)) {
  await import(main.href);
} else {
  process.stderr.write('mcp-iam: @mcp-iam/cli is not built yet; run `npm run build` first\n');
  process.exitCode = 1;
}
