/**
 * `mcp-iam dev-idp [--port 4000] [--config FILE]`: runs the development IdP (@mcp-iam/dev-idp)
 * on 127.0.0.1 until SIGINT or SIGTERM. Never for production. Its subcommand `totp` prints a
 * user's one-time code.
 */
import { ConfigurationError, defineCommand, integerOption } from '../command.js';
import { EXIT_CODES } from '../exit-codes.js';
import { devIdpTotpCommand } from './dev-idp-totp.js';

/** The `dev-idp` command. */
export const devIdpCommand = defineCommand({
  kind: 'command',
  name: 'dev-idp',
  summary: 'Runs the development IdP on 127.0.0.1 until SIGINT or SIGTERM (never in production).',
  details:
    'Prints the issuer, endpoints, users (with passwords), clients (with secrets) and resources ' +
    'under a development-only banner. See docs/dev-idp.md for the fixture file.',
  options: {
    port: {
      type: 'string',
      value: 'N',
      description: 'TCP port on 127.0.0.1; 0 picks a free port',
      default: '4000',
    },
    config: {
      type: 'string',
      value: 'FILE',
      description: 'YAML fixture overrides: users, clients, resources',
    },
  },
  commands: [devIdpTotpCommand],
  example: 'mcp-iam dev-idp --port 4000 --config dev-idp.yaml',
  exitCodes: {
    ok: 'stopped by SIGINT or SIGTERM',
    failure: 'could not start (port in use)',
    configuration: 'the fixture file fails to load or validate',
  },
  async run(values, io) {
    const port = integerOption(values.port, '--port', { min: 0, max: 65535 });
    const { DevIdpConfigError, serveDevIdp } = await import('@mcp-iam/dev-idp');
    const stop = io.stopSignal();
    try {
      await serveDevIdp(
        { port, ...(values.config !== undefined ? { configFile: values.config } : {}) },
        { stdout: { write: io.stdout }, stderr: { write: io.stderr }, signal: stop.signal },
      );
      return EXIT_CODES.ok;
    } catch (error) {
      if (error instanceof DevIdpConfigError) throw new ConfigurationError(error.message);
      throw error;
    } finally {
      stop.dispose();
    }
  },
});
