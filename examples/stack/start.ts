/**
 * `npm start` / `npm run demo`: starts the demo stack, runs the walkthrough once and prints it
 * step by step, prints the audit trail, then (without `--once`) keeps serving and prints the URLs
 * and commands to try it by hand, until Ctrl-C. With `--once` it exits 0 only when every step
 * behaved as expected, and otherwise names the steps that did not.
 *
 *   node examples/dist/stack/start.js [--once] [--ephemeral]
 *        [--idp-port N] [--crm-port N] [--insights-port N] [--gateway-port N]
 *
 * Ports default to 4000, 5001, 5002 and 8080 (or IDP_PORT, CRM_PORT, INSIGHTS_PORT, GATEWAY_PORT);
 * `--ephemeral` picks free ports instead.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_PORTS, ephemeralPorts, startStack, type Stack, type StackPorts } from './stack.js';
import { formatStep, runWalkthrough } from './walkthrough.js';

const USAGE = `Usage: node examples/dist/stack/start.js [--once] [--ephemeral]
       [--idp-port N] [--crm-port N] [--insights-port N] [--gateway-port N]
`;

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`${name} must be a port number, got ${value}`);
  return n;
}

/** The commands a person can paste to call the gateway with a token of their own. */
export function tryItYourself(stack: Stack): string[] {
  const { urls, issuer } = stack;
  const mcpIam = 'npx mcp-iam';
  const body = (tool: string, args: Record<string, unknown>): string =>
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: tool, arguments: args },
    });
  const curl = (url: string, tokenFile: string, json: string): string =>
    `curl -s ${url} -H "Authorization: Bearer $(cat ${tokenFile})" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d '${json}'`;
  return [
    'Running:',
    `  IdP (development only)   ${issuer}        users alice/alice (TOTP for MFA), bob/bob`,
    `  CRM MCP server           ${urls.crm}`,
    `  insights MCP server      ${urls.insights}`,
    stack.gateway
      ? `  gateway                  ${urls.gatewayCrm}  ${urls.gatewayInsights}  ${urls.gatewayNotes}`
      : `  gateway                  not running: ${stack.gatewayProblem ?? ''}`,
    `  audit spools             ${stack.auditDirs.crm}  ${stack.auditDirs.insights}  ${stack.auditDirs.gateway}`,
    '',
    'Try it yourself, from the repository root (sign in as alice/alice in your browser when asked):',
    `  ${mcpIam} token --issuer ${issuer} --client-id demo-agent --resource ${urls.gatewayCrm} --scope crm.read --out alice.token`,
    `  ${curl(urls.gatewayCrm, 'alice.token', body('search_contacts', { query: 'ada' }))}`,
    '',
    'Or as a machine, without a browser:',
    `  ${mcpIam} token --issuer ${issuer} --client-id ci-bot --client-secret ci-bot-secret --client-credentials --resource ${urls.gatewayNotes} --scope notes.read --out ci.token`,
    `  ${curl(urls.gatewayNotes, 'ci.token', body('list_notes', {}))}`,
    '',
    'Without a token you get the 401 and its challenge:',
    `  curl -si ${urls.gatewayCrm} -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'`,
    '',
    'Audit trail of the gateway:',
    `  ${mcpIam} audit tail --spool ${stack.auditDirs.gateway}`,
    '',
    'Press Ctrl-C to stop.',
  ];
}

async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        once: { type: 'boolean' },
        ephemeral: { type: 'boolean' },
        'idp-port': { type: 'string' },
        'crm-port': { type: 'string' },
        'insights-port': { type: 'string' },
        'gateway-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let ports: StackPorts;
  try {
    ports = values.ephemeral
      ? await ephemeralPorts()
      : {
          idp: port(
            (values['idp-port'] as string | undefined) ?? process.env.IDP_PORT,
            DEFAULT_PORTS.idp,
            'the IdP port',
          ),
          crm: port(
            (values['crm-port'] as string | undefined) ?? process.env.CRM_PORT,
            DEFAULT_PORTS.crm,
            'the CRM port',
          ),
          insights: port(
            (values['insights-port'] as string | undefined) ?? process.env.INSIGHTS_PORT,
            DEFAULT_PORTS.insights,
            'the insights port',
          ),
          gateway: port(
            (values['gateway-port'] as string | undefined) ?? process.env.GATEWAY_PORT,
            DEFAULT_PORTS.gateway,
            'the gateway port',
          ),
        };
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }

  const once = values.once === true;
  const print = (line = ''): void => void process.stdout.write(`${line}\n`);
  print('mcp-iam demo: starting the development IdP, two MCP servers and the gateway…');
  let stack: Stack;
  try {
    stack = await startStack({ ports });
  } catch (error) {
    process.stderr.write(`The demo could not start: ${(error as Error).message}\n`);
    process.stderr.write('Is another program using one of the ports? Try --ephemeral.\n');
    return 1;
  }
  if (stack.gatewayProblem) print(`Note: ${stack.gatewayProblem}`);

  const results = await runWalkthrough(stack, {
    onStep: (result, index, total) => formatStep(result, index, total).forEach((l) => print(l)),
  });
  const failed = results.filter((r) => !r.ok);
  print();
  if (failed.length === 0) print(`✓ All ${results.length} steps behaved as expected.`);
  else {
    print(`✗ ${failed.length} of ${results.length} steps did not behave as expected:`);
    for (const r of failed) print(`  - ${r.id}: ${r.problem ?? ''}`);
  }

  if (once) {
    await stack.close();
    return failed.length === 0 ? 0 : 1;
  }
  print();
  tryItYourself(stack).forEach((l) => print(l));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  print('Stopping…');
  await stack.close();
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
