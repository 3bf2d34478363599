/**
 * `mcp-iam check --config FILE`: validates a gateway configuration file, reaches every issuer,
 * the gateway's own IdP client and every upstream, and prints what is wrong.
 */
import { ConfigurationError, defineCommand } from '../command.js';
import { EXIT_CODES } from '../exit-codes.js';

/** The `check` command. */
export const checkCommand = defineCommand({
  kind: 'command',
  name: 'check',
  summary: 'Validates a gateway configuration file and reaches everything it names.',
  details:
    "Checks every issuer (discovery, key set, introspection client), the gateway's own IdP " +
    'client (token exchange) and every upstream, and prints one line per check. Nothing is served.',
  options: {
    config: {
      type: 'string',
      short: 'c',
      value: 'FILE',
      description: 'gateway configuration file',
      required: true,
    },
  },
  example: 'mcp-iam check --config gateway.yaml',
  exitCodes: {
    ok: 'every check passed',
    failure: 'an issuer, the IdP client or an upstream failed its check',
    configuration: 'the configuration file fails to load or validate (nothing is probed)',
  },
  async run(values, io) {
    const { checkConfig, formatCheckReport } = await import('@mcp-iam/gateway');
    const report = await checkConfig({ configFile: values.config });
    if (!report.configurationValid) throw new ConfigurationError(formatCheckReport(report).trim());
    io.stdout(formatCheckReport(report));
    return report.ok ? EXIT_CODES.ok : EXIT_CODES.failure;
  },
});
