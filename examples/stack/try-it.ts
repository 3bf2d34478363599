/**
 * What `npm start` prints once the stack serves: where everything runs, and commands to paste
 * from the repository root: check the gateway's configuration against the running stack, get
 * tokens as a person (with and without MFA) and as a machine (client secret, private key), call
 * the gateway with them, see a 401, read the audit trail. Every file they write is under the
 * demo's data directory (`data/`, which git ignores).
 */
import { isAbsolute, join, relative } from 'node:path';
import { MCP_INSPECTOR_REDIRECT_URIS } from '@mcp-iam/dev-idp';
import { shellQuote, type DemoFiles } from './demo-files.js';
import { GATEWAY_CONFIG, REPO_ROOT, type Stack } from './stack.js';

/** What the printed commands need to know about the running stack. */
export type TryItStack = Pick<Stack, 'issuer' | 'urls' | 'auditDirs' | 'gatewayProblem'> & {
  readonly gatewayRunning: boolean;
};

/** The commands, by what they do. */
export interface TryItCommands {
  /** `mcp-iam check` of examples/stack/gateway.yaml with the variables of the env file. */
  readonly check: string;
  readonly aliceToken: string;
  readonly aliceSearch: string;
  /** Prints alice's one-time code, for the login page of the MFA sign-in. */
  readonly aliceTotp: string;
  readonly aliceMfaToken: string;
  readonly aliceUpdate: string;
  readonly ciToken: string;
  readonly ciListNotes: string;
  readonly nightlySyncToken: string;
  readonly nightlySyncAddNote: string;
  readonly withoutToken: string;
  readonly auditTail: string;
}

const MCP_IAM = 'npx mcp-iam';

/** `path` as typed from the repository root: relative when inside it, shell-quoted. */
export function shownPath(path: string): string {
  const inside = relative(REPO_ROOT, path);
  const shown = inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
  return shellQuote(shown);
}

function toolCall(tool: string, args: Record<string, unknown>): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: tool, arguments: args },
  });
}

function curl(url: string, tokenFile: string, json: string): string {
  return (
    `curl -s ${url} -H "Authorization: Bearer $(cat ${tokenFile})" ` +
    `-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' ` +
    `-d '${json}'`
  );
}

/** The commands for `stack`, writing under `files`. */
export function tryItCommands(stack: TryItStack, files: DemoFiles): TryItCommands {
  const { issuer, urls } = stack;
  const token = (name: string): string => shownPath(join(files.tokens, `${name}.token`));
  const tokens = {
    alice: token('alice'),
    aliceMfa: token('alice-mfa'),
    ci: token('ci'),
    nightlySync: token('nightly-sync'),
  };
  const getToken = (options: string, file: string): string =>
    `${MCP_IAM} token --issuer ${issuer} ${options} --out ${file}`;
  return {
    check:
      `set -a; . ${shownPath(files.env)}; set +a; ` +
      `${MCP_IAM} check --config ${shownPath(GATEWAY_CONFIG)}`,
    aliceToken: getToken(
      `--client-id demo-agent --resource ${urls.gatewayCrm} --scope crm.read`,
      tokens.alice,
    ),
    aliceSearch: curl(urls.gatewayCrm, tokens.alice, toolCall('search_contacts', { query: 'ada' })),
    aliceTotp: `${MCP_IAM} dev-idp totp alice`,
    aliceMfaToken: getToken(
      `--client-id demo-agent --resource ${urls.gatewayCrm} --scope "crm.read crm.write" --acr-values mfa`,
      tokens.aliceMfa,
    ),
    aliceUpdate: curl(
      urls.gatewayCrm,
      tokens.aliceMfa,
      toolCall('update_contact', { id: 'c-001', note: 'Called back, by hand.' }),
    ),
    ciToken: getToken(
      `--client-id ci-bot --client-secret ci-bot-secret --client-credentials --resource ${urls.gatewayNotes} --scope notes.read`,
      tokens.ci,
    ),
    ciListNotes: curl(urls.gatewayNotes, tokens.ci, toolCall('list_notes', {})),
    nightlySyncToken: getToken(
      `--client-id nightly-sync --client-credentials --private-key ${shownPath(files.nightlySyncKey)} --resource ${urls.gatewayNotes} --scope "notes.read notes.write"`,
      tokens.nightlySync,
    ),
    nightlySyncAddNote: curl(
      urls.gatewayNotes,
      tokens.nightlySync,
      toolCall('add_note', { text: 'Written by hand.' }),
    ),
    withoutToken: `curl -si ${urls.gatewayCrm} -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'`,
    auditTail: `${MCP_IAM} audit tail --spool ${shownPath(stack.auditDirs.gateway)}`,
  };
}

/** The lines `npm start` prints after the walkthrough. */
export function tryItLines(stack: TryItStack, files: DemoFiles): string[] {
  const { issuer, urls, auditDirs } = stack;
  const c = tryItCommands(stack, files);
  const gatewayLines = stack.gatewayRunning
    ? [
        'Check the gateway configuration against the running stack (the values of its ${…}',
        `variables are in ${shownPath(files.env)}):`,
        `  ${c.check}`,
        '',
      ]
    : [];
  return [
    'Running:',
    `  IdP (development only)   ${issuer}        users alice/alice (TOTP for MFA), bob/bob`,
    `  CRM MCP server           ${urls.crm}`,
    `  insights MCP server      ${urls.insights}`,
    stack.gatewayRunning
      ? `  gateway                  ${urls.gatewayCrm}  ${urls.gatewayInsights}  ${urls.gatewayNotes}`
      : `  gateway                  not running: ${stack.gatewayProblem ?? ''}`,
    `  audit spools             ${auditDirs.crm}  ${auditDirs.insights}  ${auditDirs.gateway}`,
    '',
    ...gatewayLines,
    `Try it yourself, from the repository root. Tokens go to ${shownPath(files.tokens)}/ (git ignores ${shownPath(files.dir)}/).`,
    '',
    'As alice, in your browser (sign in as alice/alice when the IdP asks):',
    `  ${c.aliceToken}`,
    `  ${c.aliceSearch}`,
    '',
    'As alice with MFA, to update a contact: the login page also asks for a one-time code, which',
    'this prints (it changes every 30 seconds):',
    `  ${c.aliceTotp}`,
    `  ${c.aliceMfaToken}`,
    `  ${c.aliceUpdate}`,
    '',
    'As a machine with a client secret (ci-bot), without a browser:',
    `  ${c.ciToken}`,
    `  ${c.ciListNotes}`,
    '',
    `As a machine with a private key (nightly-sync, private_key_jwt; the key is in ${shownPath(files.nightlySyncKey)}):`,
    `  ${c.nightlySyncToken}`,
    `  ${c.nightlySyncAddNote}`,
    '',
    'Without a token you get the 401 and its challenge:',
    `  ${c.withoutToken}`,
    '',
    'With the MCP Inspector (npx @modelcontextprotocol/inspector): connect to',
    `  ${urls.gatewayCrm} with the OAuth client ID demo-agent (the IdP has no dynamic`,
    `  registration; ${MCP_INSPECTOR_REDIRECT_URIS.join(' and ')} are registered for demo-agent).`,
    '',
    'Audit trail of the gateway:',
    `  ${c.auditTail}`,
    '',
    'Press Ctrl-C to stop.',
  ];
}
