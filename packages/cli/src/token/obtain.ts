/**
 * Getting an access token from the IdP the way a real client would (the work of `mcp-iam token`),
 * for trying the gateway or an MCP server by hand. People use authorization code + PKCE (S256) with
 * a loopback redirect (RFC 8252); machines use client credentials with a client secret or a private
 * key (private_key_jwt). All protocol work is done by oauth4webapi; nothing here mints a token.
 */
import { createServer, type Server } from 'node:http';
import { spawn } from 'node:child_process';
import { chmod, rename, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { describeOAuthFailure, oauthErrorCode } from './oauth-failure.js';
import { importClientPrivateKey } from './private-key.js';
import { grantWarnings, requestWarnings } from './request-warnings.js';
import { TokenCommandError } from './token-error.js';

export { TokenCommandError } from './token-error.js';

/** Options of {@link obtainToken}. */
export interface TokenRequestOptions {
  /** Issuer identifier of the IdP; its metadata is discovered (RFC 8414, then OIDC Discovery). */
  issuer: string;
  /** OAuth client id. */
  clientId: string;
  /** Client secret (client_secret_basic). */
  clientSecret?: string;
  /** Private key for private_key_jwt: a JWK (JSON, with `kid`) or a PKCS#8 PEM file's contents. */
  privateKey?: string;
  /** Where `privateKey` was read from, for messages (default `the private key`). */
  privateKeySource?: string;
  /** JWS algorithm for a PEM private key (default ES256). */
  privateKeyAlg?: string;
  /** Use the client credentials grant instead of authorization code + PKCE. */
  clientCredentials?: boolean;
  /** RFC 8707 resource indicator: the MCP server's canonical URL. */
  resource?: string;
  /** Space-separated scopes. */
  scope?: string;
  /** `acr_values` for the authorization request (e.g. `mfa`). */
  acrValues?: string;
  /** Loopback port for the redirect (default 0: any free port). */
  redirectPort?: number;
  /**
   * Opens the authorization URL for the person. Default: print it, and try `xdg-open`/`open` when a
   * display is available. Tests pass a function that drives the login pages.
   */
  openBrowser?: (url: string) => Promise<void> | void;
  /** How long to wait for the redirect (default 300 000 ms). */
  timeoutMs?: number;
  /** Where progress messages and warnings go (default stderr). */
  log?: (line: string) => void;
}

/** The token endpoint's answer, as oauth4webapi validated it. */
export type TokenResponse = oauth.TokenEndpointResponse;

/** True for http URLs whose host is a loopback address (the only http the command accepts). */
function isLoopbackHttp(url: URL): boolean {
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function parseUrl(value: string, what: string): URL {
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && !isLoopbackHttp(url)) {
      throw new TokenCommandError(
        `${what} must be https (http is accepted for loopback only): ${value}`,
      );
    }
    return url;
  } catch (error) {
    if (error instanceof TokenCommandError) throw error;
    throw new TokenCommandError(`${what} is not an absolute URL: ${JSON.stringify(value)}`);
  }
}

async function discover(issuer: URL): Promise<oauth.AuthorizationServer> {
  const insecure = isLoopbackHttp(issuer);
  const attempts: Array<'oauth2' | 'oidc'> = ['oauth2', 'oidc'];
  let lastError: unknown;
  for (const algorithm of attempts) {
    try {
      const response = await oauth.discoveryRequest(issuer, {
        algorithm,
        [oauth.allowInsecureRequests]: insecure,
        signal: AbortSignal.timeout(10_000),
      });
      return await oauth.processDiscoveryResponse(issuer, response);
    } catch (error) {
      lastError = error;
    }
  }
  throw new TokenCommandError(
    `could not discover the authorization server metadata of ${issuer.href}: ` +
      describeOAuthFailure(lastError),
  );
}

async function clientAuthentication(options: TokenRequestOptions): Promise<oauth.ClientAuth> {
  if (options.clientSecret && options.privateKey) {
    throw new TokenCommandError('give either a client secret or a private key, not both');
  }
  if (options.clientSecret) return oauth.ClientSecretBasic(options.clientSecret);
  if (options.privateKey) {
    const { key, kid } = await importClientPrivateKey(
      options.privateKey,
      options.privateKeySource ?? 'the private key',
      options.privateKeyAlg,
    );
    return oauth.PrivateKeyJwt(kid !== undefined ? { key, kid } : { key });
  }
  return oauth.None();
}

/**
 * Gets an access token from the IdP.
 *
 * @example
 * ```ts
 * const { access_token } = await obtainToken({
 *   issuer: 'http://127.0.0.1:4000', clientId: 'ci-bot', clientSecret: 'ci-bot-secret',
 *   clientCredentials: true, resource: 'http://127.0.0.1:8080/crm/mcp', scope: 'crm.read',
 * });
 * ```
 */
export async function obtainToken(options: TokenRequestOptions): Promise<TokenResponse> {
  const issuer = parseUrl(options.issuer, 'issuer');
  if (options.resource) parseUrl(options.resource, 'resource');
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const as = await discover(issuer);
  const client: oauth.Client = { client_id: options.clientId };
  const auth = await clientAuthentication(options);
  const insecure = { [oauth.allowInsecureRequests]: isLoopbackHttp(issuer) };
  if (options.clientCredentials && !options.clientSecret && !options.privateKey) {
    throw new TokenCommandError('client credentials need --client-secret or --private-key');
  }
  for (const warning of requestWarnings(as, { scope: options.scope, resource: options.resource })) {
    log(`warning: ${warning}`);
  }
  let response: TokenResponse;
  try {
    if (options.clientCredentials) {
      const parameters = new URLSearchParams();
      if (options.scope) parameters.set('scope', options.scope);
      if (options.resource) parameters.set('resource', options.resource);
      const answer = await oauth.clientCredentialsGrantRequest(as, client, auth, parameters, {
        ...insecure,
        signal: AbortSignal.timeout(10_000),
      });
      response = await oauth.processClientCredentialsResponse(as, client, answer);
    } else {
      response = await authorizationCodeFlow(as, client, auth, options, insecure, log);
    }
  } catch (error) {
    if (error instanceof TokenCommandError) throw error;
    throw refusal(error, options, as);
  }
  for (const warning of grantWarnings(response, options.scope)) log(`warning: ${warning}`);
  return response;
}

/** The IdP's refusal, naming the client and, for a refused client, what to check. */
function refusal(
  error: unknown,
  options: TokenRequestOptions,
  as: oauth.AuthorizationServer,
): TokenCommandError {
  const credential = options.privateKey
    ? `the key in ${options.privateKeySource ?? 'the private key'}`
    : options.clientSecret
      ? '--client-secret (or MCP_IAM_CLIENT_SECRET)'
      : 'its registration as a public client';
  const hint =
    oauthErrorCode(error) === 'invalid_client' ? `; check --client-id and ${credential}` : '';
  // The message says everything: the library's own error is not attached (it would be printed).
  return new TokenCommandError(
    `the IdP refused the token request of client ${JSON.stringify(options.clientId)}` +
      `${as.token_endpoint ? ` at ${as.token_endpoint}` : ''}: ${describeOAuthFailure(error)}${hint}`,
  );
}

async function authorizationCodeFlow(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  auth: oauth.ClientAuth,
  options: TokenRequestOptions,
  insecure: { [oauth.allowInsecureRequests]: boolean },
  log: (line: string) => void,
): Promise<TokenResponse> {
  if (!as.authorization_endpoint) {
    throw new TokenCommandError('the IdP metadata has no authorization_endpoint');
  }
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const { server, port } = await listenLoopback(options.redirectPort ?? 0);
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  try {
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', client.client_id);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', state);
    const scopes = (options.scope ?? 'openid').split(' ').filter(Boolean);
    // acr_values is an OpenID Connect parameter: providers ignore or refuse it without `openid`.
    if (options.acrValues && !scopes.includes('openid')) scopes.unshift('openid');
    url.searchParams.set('scope', scopes.join(' '));
    if (options.resource) url.searchParams.set('resource', options.resource);
    if (options.acrValues) url.searchParams.set('acr_values', options.acrValues);

    const callback = waitForCallback(server, options.timeoutMs ?? 300_000);
    log(`Open this URL to sign in:\n  ${url.href}\nWaiting for the redirect to ${redirectUri} ...`);
    await (options.openBrowser ?? defaultOpenBrowser)(url.href);
    const currentUrl = await callback;
    const parameters = oauth.validateAuthResponse(as, client, currentUrl, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      auth,
      parameters,
      redirectUri,
      codeVerifier,
      { ...insecure, signal: AbortSignal.timeout(10_000) },
    );
    return await oauth.processAuthorizationCodeResponse(as, client, response);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

function listenLoopback(port: number): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) =>
      reject(new TokenCommandError(`cannot listen on 127.0.0.1:${port}: ${error.message}`)),
    );
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new TokenCommandError('loopback listener has no port'));
        return;
      }
      resolve({ server, port: address.port });
    });
  });
}

function waitForCallback(server: Server, timeoutMs: number): Promise<URL> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new TokenCommandError(`no redirect arrived within ${timeoutMs} ms`)),
      timeoutMs,
    );
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', `http://127.0.0.1`);
      if (url.pathname !== '/callback') {
        res.writeHead(404).end();
        return;
      }
      const failed = url.searchParams.has('error');
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(
        failed
          ? 'Sign-in failed; see the terminal.\n'
          : 'Signed in. You can close this tab and return to the terminal.\n',
      );
      clearTimeout(timer);
      resolve(url);
    });
  });
}

function defaultOpenBrowser(url: string): void {
  if (!process.env.DISPLAY && process.platform === 'linux') return;
  const command = process.platform === 'darwin' ? 'open' : 'xdg-open';
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No browser available: the URL was printed.
  }
}

/** Writes the token to `path` with mode 600, atomically (temporary file, then rename). */
export async function writeTokenFile(path: string, token: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}`);
  await writeFile(temporary, `${token}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}
