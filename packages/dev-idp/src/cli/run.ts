// `mcp-iam dev-idp [--port 4000] [--config FILE]`: starts the development IdP, prints its issuer,
// users and clients with a loud development-only banner, and runs until SIGINT or SIGTERM.
import { parseArgs } from 'node:util';
import { McpIamError } from '@mcp-iam/core';

import type { DevIdpFixtures } from '../fixtures/types.js';
import { DEFAULT_DEV_IDP_PORT, startDevIdp, type DevIdp } from '../server.js';

/** Output and stop controls for {@link runDevIdpCli}; defaults are the process's. */
export interface DevIdpCliIo {
  /** Where the banner goes. Default `process.stdout`. */
  stdout?: { write(text: string): unknown };
  /** Stops the IdP when aborted. Default: SIGINT / SIGTERM. */
  signal?: AbortSignal;
}

/** Bad command-line usage (exit code 2 in the bin). */
export class DevIdpUsageError extends McpIamError<'dev_idp_usage'> {
  constructor(message: string) {
    super('dev_idp_usage', message);
  }
}

/** Usage text of the `dev-idp` command. */
export const DEV_IDP_USAGE = `usage: mcp-iam dev-idp [--port ${DEFAULT_DEV_IDP_PORT}] [--config FILE]
  --port N       port on 127.0.0.1 (0 picks a free port); default ${DEFAULT_DEV_IDP_PORT}
  --config FILE  YAML fixture overrides (see docs/dev-idp.md)`;

/** The startup banner: issuer, endpoints, users, clients and resources. */
export function describeDevIdp(
  idp: Pick<DevIdp, 'issuer' | 'endpoints'>,
  fixtures: DevIdpFixtures,
): string {
  const lines = [
    '================================================================',
    ' mcp-iam dev-idp: DEVELOPMENT ONLY. Well-known passwords, secrets',
    ' and keys. Never expose it or trust its tokens in production.',
    '================================================================',
    `issuer: ${idp.issuer}`,
    `discovery: ${idp.endpoints.discovery}`,
    `token: ${idp.endpoints.token}`,
    `introspection: ${idp.endpoints.introspection}`,
    'users:',
  ];
  for (const [id, u] of Object.entries(fixtures.users)) {
    lines.push(
      `  ${id}  password=${u.password}  groups=${u.groups.join(',') || '-'}  mfa=${u.totp_secret ? 'totp' : 'none'}${u.disabled ? '  DISABLED' : ''}`,
    );
  }
  lines.push('clients:');
  for (const [id, c] of Object.entries(fixtures.clients)) {
    const secret = c.client_secret ? `  secret=${c.client_secret}` : '';
    lines.push(
      `  ${id}  auth=${c.token_endpoint_auth_method}${secret}  grants=${c.grant_types.join(',')}`,
    );
  }
  lines.push('resources:');
  for (const [name, r] of Object.entries(fixtures.resources)) {
    lines.push(`  ${name}  ${r.url}  scopes=${r.scopes.join(',')}  format=${r.format}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Runs `mcp-iam dev-idp`: parses `argv` (the arguments after `dev-idp`), starts the IdP, prints
 * the banner, and resolves once the IdP has stopped (SIGINT/SIGTERM or `io.signal`).
 * Throws {@link DevIdpUsageError} on bad arguments.
 */
export async function runDevIdpCli(argv: string[], io: DevIdpCliIo = {}): Promise<void> {
  let values: { port?: string; config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new DevIdpUsageError(
      `${err instanceof Error ? err.message : String(err)}\n${DEV_IDP_USAGE}`,
    );
  }
  const stdout = io.stdout ?? process.stdout;
  if (values.help) {
    stdout.write(`${DEV_IDP_USAGE}\n`);
    return;
  }
  const port = values.port === undefined ? DEFAULT_DEV_IDP_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new DevIdpUsageError(`--port must be an integer from 0 to 65535\n${DEV_IDP_USAGE}`);
  }
  const idp = await startDevIdp({ port, ...(values.config ? { configFile: values.config } : {}) });
  stdout.write(describeDevIdp(idp, idp.fixtures));

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    if (io.signal) {
      if (io.signal.aborted) return stop();
      io.signal.addEventListener('abort', stop, { once: true });
    } else {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
  });
  await idp.close();
}
