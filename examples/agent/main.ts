/**
 * The demo agent as a command: signs a development user in through the MCP SDK's OAuth flow
 * (401 → discovery → PKCE sign-in on the dev IdP) and calls one tool, stepping up to MFA when the
 * server asks. Against the demo stack:
 *
 *   node examples/dist/agent/main.js --issuer http://127.0.0.1:4000 \
 *     --url http://127.0.0.1:8080/crm/mcp --user alice --password alice \
 *     --tool search_contacts --args '{"query":"ada"}'
 */
import { parseArgs } from 'node:util';
import { totpNow } from '@mcp-iam/dev-idp';
import { callToolWithSignIn, connectWithSignIn } from './agent.js';
import { DemoAgentOAuthProvider } from './oauth-provider.js';
import { HttpRecorder } from './recorder.js';

const USAGE = `Usage: node examples/dist/agent/main.js --issuer URL --url MCP_URL --user NAME --password P
       --tool NAME [--args JSON] [--verbose]
`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      issuer: { type: 'string' },
      url: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      tool: { type: 'string' },
      args: { type: 'string', default: '{}' },
      verbose: { type: 'boolean' },
    },
  });
  const { issuer, url, user, password, tool } = values;
  if (!issuer || !url || !user || !password || !tool) {
    process.stderr.write(USAGE);
    return 2;
  }
  const args = JSON.parse(values.args ?? '{}') as Record<string, unknown>;
  const recorder = new HttpRecorder();
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  const provider = new DemoAgentOAuthProvider({
    issuer,
    user,
    password,
    ...(user === 'alice' ? { otp: () => totpNow('alice') } : {}),
    log: say,
  });
  const session = await connectWithSignIn(url, provider, recorder);
  try {
    const text = await callToolWithSignIn(session, provider, recorder, tool, args);
    process.stdout.write(`${text}\n`);
    return 0;
  } finally {
    if (values.verbose) {
      for (const e of recorder.requests) say(`${e.method} ${e.url} ${e.rpc ?? ''} → ${e.status}`);
    }
    await session.close();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`agent: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
