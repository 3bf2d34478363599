/**
 * Test fixture: a loopback HTTP stand-in for an IdP (node:http on 127.0.0.1, ephemeral port) that
 * serves discovery metadata, JWKS and an introspection endpoint per realm, with switchable faults,
 * and records every request so tests can count outbound traffic. Also mints signed tokens with
 * arbitrary (even hostile) headers and payloads using real keys from jose and node:crypto.
 * Used only by tests and benchmarks; not exported from the package.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeyObject, randomUUID, sign as cryptoSign } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** A signing key of the fixture IdP. */
export interface FixtureSigner {
  readonly alg: string;
  readonly kid?: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Public JWK with `kid`, `alg`, `use: sig`. */
  readonly jwk: JWK;
}

/** Generates a real key pair with jose for `alg` (RS*, PS*, ES*, EdDSA). */
export async function createSigner(
  alg: string,
  kid: string | undefined = randomUUID(),
  options: { modulusLength?: number } = {},
): Promise<FixtureSigner> {
  const pair = await generateKeyPair(alg, {
    extractable: true,
    ...(options.modulusLength ? { modulusLength: options.modulusLength } : {}),
  });
  const jwk = await exportJWK(pair.publicKey);
  return {
    alg,
    ...(kid !== undefined ? { kid } : {}),
    privateKey: KeyObject.from(pair.privateKey),
    publicKey: KeyObject.from(pair.publicKey),
    jwk: { ...jwk, ...(kid !== undefined ? { kid } : {}), alg, use: 'sig' },
  };
}

function hashFor(alg: string): string | null {
  if (alg === 'EdDSA') return null;
  return `sha${alg.slice(2)}`;
}

/** Signs `signingInput` (ASCII `header.payload`) with node:crypto the way JWS `alg` prescribes. */
export function signInput(
  signingInput: string,
  signer: Pick<FixtureSigner, 'alg' | 'privateKey'>,
  alg = signer.alg,
): string {
  const data = Buffer.from(signingInput);
  const key = signer.privateKey;
  let sig: Buffer;
  if (alg.startsWith('PS')) {
    sig = cryptoSign(hashFor(alg), data, {
      key,
      padding: 6 /* RSA_PKCS1_PSS_PADDING */,
      saltLength: Number(alg.slice(2)) / 8,
    });
  } else if (alg.startsWith('ES')) {
    sig = cryptoSign(hashFor(alg), data, { key, dsaEncoding: 'ieee-p1363' });
  } else {
    sig = cryptoSign(hashFor(alg), data, key);
  }
  return sig.toString('base64url');
}

/** base64url of a UTF-8 string. */
export function b64u(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** Builds `header.payload.signature` from raw JSON texts, signed with `signer`. */
export function signRaw(
  headerJson: string,
  payloadJson: string,
  signer: Pick<FixtureSigner, 'alg' | 'privateKey'>,
  alg?: string,
): string {
  const input = `${b64u(headerJson)}.${b64u(payloadJson)}`;
  return `${input}.${signInput(input, signer, alg)}`;
}

/** One realm (issuer) of the fixture IdP. Mutate its fields to change behaviour mid-test. */
export interface FixtureRealm {
  readonly name: string;
  readonly issuer: string;
  readonly jwksUri: string;
  readonly introspectionEndpoint: string;
  /** JWKS served. */
  jwks: { keys: unknown[] };
  /** Fault for the JWKS endpoint: `ok`, `500`, `redirect`, `hang` (never answers), `reset`. */
  jwksFault: 'ok' | '500' | 'redirect' | 'hang' | 'reset';
  /** `issuer` value written into metadata (default: the realm's issuer). */
  metadataIssuer?: string;
  /** Which discovery documents are served. */
  serveRfc8414: boolean;
  serveOidc: boolean;
  /** Introspection behaviour: return status and raw body text for a token. */
  introspect: (
    token: string,
  ) => { status: number; body: string } | Promise<{ status: number; body: string }>;
  /** Expected Basic credentials for introspection. */
  introspectionClient: { id: string; secret: string };
}

/** A request the fixture received. */
export interface FixtureRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly body: string;
}

/**
 * The loopback IdP fixture. `await LoopbackIdpFixture.start()`, add realms, and `close()` at the end.
 *
 * @example
 * ```ts
 * const idp = await LoopbackIdpFixture.start();
 * const realm = idp.realm('main');
 * realm.jwks = { keys: [signer.jwk] };
 * ```
 */
export class LoopbackIdpFixture {
  readonly #server: Server;
  readonly origin: string;
  readonly requests: FixtureRequest[] = [];
  readonly #realms = new Map<string, FixtureRealm>();
  readonly #hanging = new Set<ServerResponse>();

  private constructor(server: Server, origin: string) {
    this.#server = server;
    this.origin = origin;
  }

  /** Starts the fixture on 127.0.0.1 with an ephemeral port. */
  static async start(): Promise<LoopbackIdpFixture> {
    const holder: { fixture?: LoopbackIdpFixture } = {};
    const server = createServer((req, res) => {
      holder.fixture?.handle(req, res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fixture = new LoopbackIdpFixture(server, `http://127.0.0.1:${port}`);
    holder.fixture = fixture;
    return fixture;
  }

  /** The realm `name` (created on first use) with issuer `${origin}/realms/${name}`. */
  realm(name = 'main'): FixtureRealm {
    let realm = this.#realms.get(name);
    if (!realm) {
      const issuer = `${this.origin}/realms/${name}`;
      realm = {
        name,
        issuer,
        jwksUri: `${issuer}/jwks`,
        introspectionEndpoint: `${issuer}/introspect`,
        jwks: { keys: [] },
        jwksFault: 'ok',
        serveRfc8414: true,
        serveOidc: true,
        introspect: () => ({ status: 200, body: '{"active":false}' }),
        introspectionClient: { id: 'rs-client', secret: 'rs secret:1' },
      };
      this.#realms.set(name, realm);
    }
    return realm;
  }

  /** Number of recorded requests whose path starts with `prefix` (all when omitted). */
  count(prefix = ''): number {
    return this.requests.filter((r) => r.path.startsWith(prefix)).length;
  }

  /** Number of JWKS fetches of one realm. */
  jwksFetches(name = 'main'): number {
    return this.requests.filter((r) => r.path === `/realms/${name}/jwks`).length;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0] as string;
    this.requests.push({
      method: req.method ?? 'GET',
      path,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      body,
    });
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof value === 'string' ? value : JSON.stringify(value));
    };
    for (const realm of this.#realms.values()) {
      const base = `/realms/${realm.name}`;
      const metadata = {
        issuer: realm.metadataIssuer ?? realm.issuer,
        jwks_uri: realm.jwksUri,
        introspection_endpoint: realm.introspectionEndpoint,
      };
      if (path === `/.well-known/oauth-authorization-server${base}`) {
        return realm.serveRfc8414 ? json(200, metadata) : json(404, { error: 'not_found' });
      }
      if (path === `${base}/.well-known/openid-configuration`) {
        return realm.serveOidc ? json(200, metadata) : json(404, { error: 'not_found' });
      }
      if (path === `${base}/jwks`) {
        switch (realm.jwksFault) {
          case 'ok':
            return json(200, realm.jwks);
          case '500':
            return json(500, { error: 'down' });
          case 'redirect':
            res.writeHead(302, { location: `${this.origin}/elsewhere/jwks` });
            res.end();
            return;
          case 'hang':
            this.#hanging.add(res);
            return;
          case 'reset':
            req.socket.destroy();
            return;
        }
      }
      if (path === `${base}/introspect` && req.method === 'POST') {
        const expected = `Basic ${Buffer.from(
          `${encodeURIComponent(realm.introspectionClient.id)}:${encodeURIComponent(realm.introspectionClient.secret)}`.replace(
            /%20/g,
            '+',
          ),
        ).toString('base64')}`;
        if (req.headers.authorization !== expected) return json(401, { error: 'invalid_client' });
        const token = new URLSearchParams(body).get('token') ?? '';
        const answer = await realm.introspect(token);
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body);
        return;
      }
    }
    json(404, { error: 'not_found' });
  }

  /** Closes the server and any hanging responses. */
  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#hanging.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Default access token claims for `realm` and `resource`, valid for 5 minutes. */
export function accessTokenClaims(
  issuer: string,
  resource: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: issuer,
    sub: 'alice',
    aud: resource,
    client_id: 'crm-app',
    scope: 'crm.read crm.write',
    iat: now,
    exp: now + 300,
    jti: randomUUID(),
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete claims[k];
    else claims[k] = v;
  }
  return claims;
}

/** Signs an access token: header `{ alg, typ: 'at+jwt', kid }` merged with `header` (undefined removes). */
export function mintToken(
  signer: FixtureSigner,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const h: Record<string, unknown> = {
    alg: signer.alg,
    typ: 'at+jwt',
    ...(signer.kid !== undefined ? { kid: signer.kid } : {}),
  };
  for (const [k, v] of Object.entries(header)) {
    if (v === undefined) delete h[k];
    else h[k] = v;
  }
  return signRaw(JSON.stringify(h), JSON.stringify(claims), signer);
}
