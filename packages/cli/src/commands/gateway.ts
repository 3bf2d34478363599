/**
 * `mcp-iam gateway --config FILE`: runs the gateway until SIGINT or SIGTERM; SIGHUP reloads its
 * routes and policies.
 */
import { ConfigurationError, GATEWAY_CONFIG_OPTION, defineCommand } from '../command.js';
import { EXIT_CODES } from '../exit-codes.js';
import { aborted } from '../io.js';

/** The `gateway` command. */
export const gatewayCommand = defineCommand({
  kind: 'command',
  name: 'gateway',
  summary: 'Runs the gateway until SIGINT or SIGTERM; SIGHUP reloads routes and policies.',
  details:
    'The configuration is YAML with ${ENV} interpolation (see docs/gateway.md). A stop signal ' +
    'that arrives during start-up stops the gateway cleanly once it is up.',
  options: {
    config: GATEWAY_CONFIG_OPTION,
  },
  example: 'mcp-iam gateway --config gateway.yaml',
  exitCodes: {
    ok: 'stopped by SIGINT or SIGTERM',
    failure: 'could not start (port in use, issuer unreachable, audit spool locked)',
    configuration: 'the configuration file fails to load or validate',
  },
  async run(values, io) {
    const { ConfigError, startGateway } = await import('@mcp-iam/gateway');
    // The stop signals are caught before start-up begins: a SIGTERM that arrives while the gateway
    // is still starting stops it cleanly once it is up (spool lock released, audit flushed)
    // instead of killing the process mid-start.
    const stop = io.stopSignal();
    try {
      let running: Awaited<ReturnType<typeof startGateway>>;
      try {
        running = await startGateway({ configFile: values.config, reloadOnSighup: true });
      } catch (error) {
        if (error instanceof ConfigError) throw new ConfigurationError(error.message);
        throw error;
      }
      io.stderr(`mcp-iam gateway listening on ${running.url}\n`);
      await aborted(stop.signal);
      await running.close();
      return EXIT_CODES.ok;
    } finally {
      stop.dispose();
    }
  },
});
