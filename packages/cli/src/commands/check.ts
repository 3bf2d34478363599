/**
 * `mcp-iam check --config FILE`: validates a gateway configuration file, reaches every issuer,
 * the gateway's own IdP client and every upstream, and prints what is wrong. With
 * `--token FILE --route NAME` it says instead whether that route would accept that token.
 */
import { readFile } from 'node:fs/promises';
import {
  ConfigurationError,
  GATEWAY_CONFIG_OPTION,
  UsageError,
  defineCommand,
} from '../command.js';
import { EXIT_CODES } from '../exit-codes.js';

/** The token in `path`, trimmed; never echoed in a message. */
async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`cannot read the token file ${path} (${code})`);
  }
  // A copied `Authorization` value works as well as the bare token.
  const token = text.trim().replace(/^Bearer\s+/i, '');
  if (token === '') throw new Error(`the token file ${path} is empty`);
  if (/\s/.test(token)) {
    throw new Error(`the token file ${path} holds more than one word; put only the token in it`);
  }
  return token;
}

/** The `check` command. */
export const checkCommand = defineCommand({
  kind: 'command',
  name: 'check',
  summary: 'Validates a gateway configuration file and reaches everything it names.',
  details:
    "Checks every issuer (metadata, key set, introspection client), the gateway's own IdP " +
    'client (token exchange) and every upstream, and prints one line per check; a failure names ' +
    'the URL, the cause and the key to fix. Nothing is served.\n\n' +
    'With --token FILE and --route NAME it runs the token through that route as the gateway ' +
    'would and says whether the route accepts it: each claim (issuer, typ, algorithm, audience, ' +
    'expiry, scopes) against what the route expects, and each operation of its policy. The token ' +
    'itself is never printed.',
  options: {
    config: GATEWAY_CONFIG_OPTION,
    token: {
      type: 'string',
      value: 'FILE',
      description: 'an access token to try on --route (instead of probing everything)',
    },
    route: {
      type: 'string',
      value: 'NAME',
      description: 'the route to try --token on (default: the only route)',
    },
  },
  example: 'mcp-iam check --config gateway.yaml',
  exitCodes: {
    ok: 'every check passed (--token: the route accepts the token)',
    failure: 'an issuer, the IdP client or an upstream failed (--token: the route refuses it)',
    configuration: 'the configuration file fails to load or validate (nothing is probed)',
  },
  async run(values, io) {
    const gateway = await import('@mcp-iam/gateway');
    if (values.token === undefined) {
      if (values.route !== undefined) throw new UsageError('--route NAME needs --token FILE');
      const report = await gateway.checkConfig({ configFile: values.config });
      if (!report.configurationValid) {
        throw new ConfigurationError(gateway.formatCheckReport(report).trim());
      }
      io.stdout(gateway.formatCheckReport(report));
      return report.ok ? EXIT_CODES.ok : EXIT_CODES.failure;
    }
    const loaded = await gateway.loadCheckedConfig({ configFile: values.config });
    if ('report' in loaded) {
      throw new ConfigurationError(gateway.formatCheckReport(loaded.report).trim());
    }
    const routes = loaded.config.routes.map((r) => r.name);
    const route = values.route ?? (routes.length === 1 ? routes[0] : undefined);
    if (route === undefined) {
      throw new UsageError(
        `--route NAME is required: ${values.config} has routes ${routes.join(', ')}`,
      );
    }
    if (!routes.includes(route)) {
      throw new UsageError(
        `--route ${route}: ${values.config} has no such route (routes: ${routes.join(', ')})`,
      );
    }
    const token = await readTokenFile(values.token);
    const verdict = await gateway.verdictForToken({ config: loaded.config, route, token });
    io.stdout(gateway.formatTokenVerdict(verdict));
    return verdict.accepted ? EXIT_CODES.ok : EXIT_CODES.failure;
  },
});
