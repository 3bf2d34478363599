#!/usr/bin/env node
// Executable entry of the `mcp-iam-dev-idp` bin: runs the dev-idp command with the process's
// arguments and turns usage and fixture errors into a message and a non-zero exit code.
import { DevIdpUsageError, runDevIdpCli } from './cli/run.js';
import { DevIdpConfigError } from './fixtures/yaml.js';

runDevIdpCli(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mcp-iam dev-idp: ${message}\n`);
    process.exit(err instanceof DevIdpUsageError ? 2 : err instanceof DevIdpConfigError ? 78 : 1);
  },
);
