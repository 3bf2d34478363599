/**
 * `mcp-iam token`: gets an access token from the IdP (sign-in with PKCE on a loopback redirect, or
 * client credentials) and prints it, or writes it to a file only its owner can read.
 */
import { readFile } from 'node:fs/promises';
import { defineCommand, integerOption } from '../command.js';
import { EXIT_CODES } from '../exit-codes.js';

async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot read the private key file ${path}: ${reason}`);
  }
}

/** The `token` command. */
export const tokenCommand = defineCommand({
  kind: 'command',
  name: 'token',
  summary:
    'Gets an access token from the IdP and prints it (or writes it to a file with mode 600).',
  details:
    'A person signs in with authorization code + PKCE on a loopback redirect (the browser opens ' +
    'when a display is available; otherwise open the printed URL). A machine uses ' +
    '--client-credentials with a client secret or a private key (private_key_jwt).',
  options: {
    issuer: {
      type: 'string',
      value: 'URL',
      description: "the IdP's issuer identifier: https, or http on a loopback address",
      required: true,
    },
    'client-id': {
      type: 'string',
      value: 'ID',
      description: 'your OAuth client id',
      required: true,
    },
    'client-credentials': {
      type: 'boolean',
      description: 'machine flow (client credentials) instead of sign-in with PKCE',
    },
    'client-secret': {
      type: 'string',
      value: 'S',
      description: 'client secret (client_secret_basic); or env MCP_IAM_CLIENT_SECRET',
    },
    'private-key': {
      type: 'string',
      value: 'FILE',
      description: 'private key for private_key_jwt (JWK JSON or PKCS#8 PEM)',
    },
    alg: {
      type: 'string',
      value: 'ALG',
      description: 'algorithm of the private key, unless its JWK names one',
      default: 'ES256',
    },
    resource: {
      type: 'string',
      value: 'URL',
      description: "the MCP server's canonical URL (RFC 8707 resource indicator)",
    },
    scope: {
      type: 'string',
      value: '"A B"',
      description: 'scopes to request (default for sign-in: openid)',
    },
    'acr-values': {
      type: 'string',
      value: 'V',
      description: 'authentication strength to ask for (e.g. mfa)',
    },
    port: {
      type: 'string',
      value: 'N',
      description: 'loopback redirect port; 0 picks a free port',
      default: '0',
    },
    out: {
      type: 'string',
      value: 'FILE',
      description: 'write the token to FILE (mode 600) instead of printing it',
    },
    json: {
      type: 'boolean',
      description: 'print the whole token response as JSON',
    },
  },
  example:
    'mcp-iam token --issuer http://127.0.0.1:4000 --client-id ci-bot --client-credentials \\\n' +
    '--client-secret ci-bot-secret --resource http://127.0.0.1:8080/crm/mcp --scope crm.read',
  exitCodes: {
    ok: 'the token was printed or written',
    failure: 'discovery failed, the IdP refused the request, or no redirect arrived in time',
  },
  async run(values, io) {
    const port = integerOption(values.port, '--port', { min: 0, max: 65535 });
    const keyFile = values['private-key'];
    const { obtainToken, writeTokenFile } = await import('../token/obtain.js');
    const response = await obtainToken({
      issuer: values.issuer,
      clientId: values['client-id'],
      clientSecret: values['client-secret'] ?? process.env.MCP_IAM_CLIENT_SECRET,
      privateKey: keyFile !== undefined ? await readKeyFile(keyFile) : undefined,
      privateKeySource: keyFile !== undefined ? `the private key file ${keyFile}` : undefined,
      privateKeyAlg: values.alg,
      clientCredentials: values['client-credentials'],
      resource: values.resource,
      scope: values.scope,
      acrValues: values['acr-values'],
      redirectPort: port,
      log: (line) => io.stderr(`${line}\n`),
    });
    if (values.out !== undefined) {
      await writeTokenFile(values.out, response.access_token);
      io.stderr(`token written to ${values.out} (mode 600)\n`);
    } else if (values.json) {
      io.stdout(`${JSON.stringify(response, null, 2)}\n`);
    } else {
      io.stdout(`${response.access_token}\n`);
    }
    return EXIT_CODES.ok;
  },
});
