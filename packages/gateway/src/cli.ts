#!/usr/bin/env node
/**
 * The `mcp-iam` command: one entry point for the gateway and its tools.
 *   mcp-iam gateway --config FILE     run the gateway
 *   mcp-iam check --config FILE       validate the file and reach every issuer and upstream
 *   mcp-iam dev-idp [--port 4000] [--config FILE]   run the development IdP
 *   mcp-iam token ...                 get a token (PKCE sign-in or client credentials)
 *   mcp-iam audit tail|query ...      read the audit trail
 */
import { parseArgs } from 'node:util';
import { ConfigError } from './config/index.js';
import { runTokenCli } from './cli/token.js';
import { checkConfig, formatCheckReport } from './runtime/check.js';
import { startGateway } from './runtime/start.js';

const USAGE = `Usage: mcp-iam <command> [options]

Commands:
  gateway --config FILE                  run the gateway (SIGHUP reloads routes and policies)
  check --config FILE                    validate the configuration and reach every issuer and upstream
  dev-idp [--port 4000] [--config FILE]  run the development IdP (never in production)
  token --issuer URL --client-id ID ...  get an access token (see mcp-iam token --help)
  audit tail|query ...                   read the audit trail (see mcp-iam audit --help)
`;

function configArg(argv: string[], command: string): string {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { config: { type: 'string', short: 'c' } },
  });
  if (!values.config) throw new UsageError(`${command}: --config FILE is required`);
  return values.config;
}

class UsageError extends Error {}

async function runGateway(argv: string[]): Promise<number> {
  const configFile = configArg(argv, 'gateway');
  // The stop signals are caught before start-up begins: a SIGTERM that arrives while the gateway
  // is still starting stops it cleanly once it is up (spool lock released, audit flushed) instead
  // of killing the process mid-start.
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const running = await startGateway({ configFile, reloadOnSighup: true });
  process.stderr.write(`mcp-iam gateway listening on ${running.url}\n`);
  await stopped;
  await running.close();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'gateway':
      return runGateway(rest);
    case 'check': {
      const report = await checkConfig({ configFile: configArg(rest, 'check') });
      // An invalid file is an error (stderr, exit 78, as for `gateway`); probe results are the report.
      if (!report.configurationValid) {
        process.stderr.write(`mcp-iam: invalid configuration\n${formatCheckReport(report)}`);
        return 78;
      }
      process.stdout.write(formatCheckReport(report));
      return report.ok ? 0 : 1;
    }
    case 'dev-idp': {
      const { runDevIdpCli } = await import('@mcp-iam/dev-idp');
      await runDevIdpCli(rest);
      return 0;
    }
    case 'token':
      return runTokenCli(rest);
    case 'audit': {
      const { runAuditCli } = await import('@mcp-iam/audit');
      return runAuditCli(rest);
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`mcp-iam: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`mcp-iam: invalid configuration\n${error.message}\n`);
      process.exit(78);
    }
    const text = error instanceof Error ? error.message : String(error);
    process.stderr.write(`mcp-iam: ${text}\n`);
    process.exit(
      error instanceof UsageError ||
        (error as { code?: string })?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? 2
        : 1,
    );
  },
);
