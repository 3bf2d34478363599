// Starts the development IdP: an oidc-provider instance configured from the fixtures, mounted in a
// plain node:http server on 127.0.0.1, with the interaction pages and the admin endpoints routed
// beside it. The returned handle exposes the issuer, endpoints and programmatic admin operations.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type Provider from 'oidc-provider';

import { handleAdmin } from './admin/routes.js';
import { checkFixtureReferences, defaultFixtures, mergeFixtures } from './fixtures/defaults.js';
import { loadFixturesFile } from './fixtures/yaml.js';
import type { DevIdpFixtureOverrides, DevIdpFixtures } from './fixtures/types.js';
import { InteractionRoutes } from './interactions/routes.js';
import { buildConfiguration } from './provider/config.js';
import { registerTokenExchange } from './provider/exchange.js';
import { KeyRing, type KeyRingState, type RotationMode } from './provider/keys.js';
import { loadOidcProvider } from './provider/load.js';
import { logRefusedAuthorizations, type DevIdpLog } from './provider/refusals.js';
import { DevIdpState } from './provider/state.js';
import { MemoryStore } from './provider/storage.js';

/** Default port of the development IdP. */
export const DEFAULT_DEV_IDP_PORT = 4000;

/** Options of {@link startDevIdp}. */
export interface DevIdpOptions {
  /** TCP port on 127.0.0.1; 0 picks a free port (the issuer then names it). Default 4000. */
  port?: number;
  /** A YAML fixture-override file (see docs/dev-idp.md), applied over the built-in fixtures. */
  configFile?: string;
  /** Programmatic overrides, applied after the file (e.g. resource URLs on ephemeral ports). */
  fixtures?: DevIdpFixtureOverrides;
  /**
   * Receives one line for each authorization request refused on an error page in the browser
   * instead of at the client's redirect URI (a redirect_uri not registered for the client, an
   * unknown client). Default: standard error.
   */
  log?: DevIdpLog;
}

/** Paths of the provider's endpoints, relative to the issuer. */
export const DEV_IDP_PATHS = {
  discovery: '/.well-known/openid-configuration',
  authorizationServerMetadata: '/.well-known/oauth-authorization-server',
  authorization: '/auth',
  token: '/token',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  jwks: '/jwks',
  userinfo: '/me',
} as const;

/** A running development IdP. */
export interface DevIdp {
  /** The issuer URL, `http://127.0.0.1:<port>` (no trailing slash). */
  readonly issuer: string;
  /** The port actually listened on. */
  readonly port: number;
  /** Absolute endpoint URLs. */
  readonly endpoints: Record<keyof typeof DEV_IDP_PATHS, string>;
  /** The effective fixtures (defaults + file + programmatic overrides). */
  readonly fixtures: DevIdpFixtures;
  /** Disables a user: login, refresh, exchange fail and introspection says inactive. */
  disableUser(id: string): void;
  /** Enables a previously disabled user. */
  enableUser(id: string): void;
  /** Rotates signing keys; see {@link KeyRing.rotate} for the modes. */
  rotateKeys(mode: RotationMode): Promise<KeyRingState>;
  /** Which kids sign and which are published. */
  keyState(): KeyRingState;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/**
 * Starts the development IdP on 127.0.0.1.
 *
 * @example
 * const idp = await startDevIdp({ port: 0, fixtures: resourceUrls({ crm: crmUrl }) });
 * try { ... } finally { await idp.close(); }
 */
export async function startDevIdp(options: DevIdpOptions = {}): Promise<DevIdp> {
  const fileOverrides = options.configFile ? await loadFixturesFile(options.configFile) : undefined;
  const fixtures = mergeFixtures(defaultFixtures(), fileOverrides, options.fixtures);
  checkFixtureReferences(fixtures);
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const [oidc, keys] = await Promise.all([
    loadOidcProvider(),
    KeyRing.create(fixtures.keys?.signing),
  ]);

  // Filled in once the port is known (the issuer names it); requests before that get 503.
  const live: {
    current?: { provider: Provider; callback: ReturnType<Provider['callback']> };
    state?: DevIdpState;
    interactions?: InteractionRoutes;
  } = {};

  const admin = {
    setUserDisabled(id: string, disabled: boolean): boolean {
      const user = Object.hasOwn(fixtures.users, id) ? fixtures.users[id] : undefined;
      if (!user) return false;
      user.disabled = disabled;
      return true;
    },
    async rotateKeys(mode: RotationMode): Promise<KeyRingState> {
      const result = await keys.rotate(mode);
      live.current = build();
      return result;
    },
    keyState: () => keys.state(),
  };

  const build = () => {
    const { state } = live;
    if (!state) throw new Error('dev IdP not initialised');
    const provider = new oidc.Provider(state.issuer, {
      ...buildConfiguration(oidc, state),
      routes: {
        authorization: DEV_IDP_PATHS.authorization,
        token: DEV_IDP_PATHS.token,
        introspection: DEV_IDP_PATHS.introspection,
        revocation: DEV_IDP_PATHS.revocation,
        jwks: DEV_IDP_PATHS.jwks,
        userinfo: DEV_IDP_PATHS.userinfo,
      },
    });
    registerTokenExchange(provider, oidc, state);
    logRefusedAuthorizations(provider, fixtures, log);
    return { provider, callback: provider.callback() };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { current, state, interactions } = live;
    if (!current || !state || !interactions) {
      res.writeHead(503, { 'retry-after': '1' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', state.issuer);
    if (url.pathname.startsWith('/interaction/')) {
      return interactions.handle(req, res, url.pathname);
    }
    if (url.pathname.startsWith('/admin/')) return handleAdmin(req, res, url, admin);
    await current.callback(req, res);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_DEV_IDP_PORT, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const state = new DevIdpState({
    issuer,
    fixtures,
    keys,
    store: new MemoryStore(),
    cookieKeys: [randomBytes(32).toString('base64url')],
  });
  live.state = state;
  live.interactions = new InteractionRoutes(state, () => {
    if (!live.current) throw new Error('dev IdP not initialised');
    return live.current.provider;
  });
  live.current = build();

  const endpoints = Object.fromEntries(
    Object.entries(DEV_IDP_PATHS).map(([k, p]) => [k, `${issuer}${p}`]),
  ) as Record<keyof typeof DEV_IDP_PATHS, string>;

  return {
    issuer,
    port,
    endpoints,
    fixtures,
    disableUser(id) {
      if (!admin.setUserDisabled(id, true)) throw new Error(`unknown user ${id}`);
    },
    enableUser(id) {
      if (!admin.setUserDisabled(id, false)) throw new Error(`unknown user ${id}`);
    },
    rotateKeys: (mode) => admin.rotateKeys(mode),
    keyState: () => keys.state(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
