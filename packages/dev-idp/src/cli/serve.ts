// Serving the development IdP from the command line (`mcp-iam dev-idp`, in @mcp-iam/cli): start
// it, print its issuer, users and clients under a loud development-only banner, and run until
// stopped.
import type { DevIdpFixtures } from '../fixtures/types.js';
import { DEFAULT_DEV_IDP_PORT, startDevIdp, type DevIdp } from '../server.js';

/** Output and stop controls for {@link serveDevIdp}; defaults are the process's. */
export interface ServeDevIdpIo {
  /** Where the banner goes. Default `process.stdout`. */
  stdout?: { write(text: string): unknown };
  /**
   * Where refused authorization requests are reported (see `DevIdpOptions.log`). Default
   * `process.stderr`.
   */
  stderr?: { write(text: string): unknown };
  /** Stops the IdP when aborted. Default: SIGINT / SIGTERM. */
  signal?: AbortSignal;
}

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

/** Options of {@link serveDevIdp}. */
export interface ServeDevIdpOptions {
  /** TCP port on 127.0.0.1; 0 picks a free port. Default {@link DEFAULT_DEV_IDP_PORT}. */
  port?: number;
  /** A YAML fixture-override file (see docs/dev-idp.md). */
  configFile?: string;
}

/**
 * Starts the IdP, prints the banner to `io.stdout`, and resolves once the IdP has stopped
 * (SIGINT/SIGTERM, or `io.signal`). Rejects with `DevIdpConfigError` for an unusable fixture file.
 *
 * @example
 * ```ts
 * await serveDevIdp({ port: 0 }, { signal: AbortSignal.timeout(60_000) });
 * ```
 */
export async function serveDevIdp(
  options: ServeDevIdpOptions = {},
  io: ServeDevIdpIo = {},
): Promise<void> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const idp = await startDevIdp({
    port: options.port ?? DEFAULT_DEV_IDP_PORT,
    log: (line) => void stderr.write(`${line}\n`),
    ...(options.configFile ? { configFile: options.configFile } : {}),
  });
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
