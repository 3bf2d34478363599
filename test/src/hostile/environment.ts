/**
 * The world every hostile-input target runs in: an IdP test double with two realms (`main`, which
 * also introspects opaque tokens, and `other`), their real signing keys plus decoy and unusable
 * keys in the published key set, an attacker key, a counting server for attacker URLs, and the
 * canonical resource a target protects. Targets (core now, the gateway later) are configured from
 * it, so the same hostile cases run against each.
 */
import { randomBytes } from 'node:crypto';
import {
  CountingServer,
  LoopbackIdp,
  type IdpRealm,
  type IntrospectionReply,
} from '../fixtures/loopback-idp.js';
import { createRawSigner, createTestSigner, type TestSigner } from './keys.js';

/** Canonical resource URL the targets protect (tokens name it in `aud`). */
export const RESOURCE = 'https://mcp.example.test/crm/mcp';
/** Another server's resource URL (a foreign audience). */
export const OTHER_RESOURCE = 'https://mcp.example.test/insights/mcp';
/** Scopes advertised by the protected resource (named in 401 challenges without a token). */
export const SCOPES_SUPPORTED = ['crm.read'] as const;

/**
 * Policy of the protected endpoint: `search_contacts` needs `crm.read`, `update_contact` needs
 * `crm.write`, `export_contacts` needs `crm.read` and `crm.export`; everything else is denied.
 */
export const POLICY = {
  default: 'deny',
  methods: { initialize: {}, 'tools/list': {} },
  tools: {
    search_contacts: { scopes: ['crm.read'] },
    update_contact: { scopes: ['crm.write'] },
    export_contacts: { scopes: ['crm.read', 'crm.export'] },
  },
} as const;

/** Every key the cases sign with. */
export interface HostileKeys {
  /** The main realm's ES256 key (kid `main-es256`). */
  readonly mainEs: TestSigner;
  /** The main realm's RS256 key (kid `main-rs256`). */
  readonly mainRs: TestSigner;
  /** The main realm's EdDSA key (kid `main-eddsa`). */
  readonly mainEd: TestSigner;
  /** Two different ES256 keys published under one `kid` (`shared-kid`). */
  readonly sharedKidA: TestSigner;
  readonly sharedKidB: TestSigner;
  /** Published but unusable: RSA 1024, `use: enc`, `key_ops` without verify, P-384 as ES256. */
  readonly weakRsa: TestSigner;
  readonly encOnly: TestSigner;
  readonly signOnlyOps: TestSigner;
  readonly wrongCurve: TestSigner;
  /** The `other` realm's ES256 key. */
  readonly otherEs: TestSigner;
  /** An attacker key that reuses the main realm's legitimate kid. */
  readonly attackerSameKid: TestSigner;
  /** An attacker key with its own kid. */
  readonly attacker: TestSigner;
}

/** Entries that no verifier can use; they sit beside the real keys (row 29). */
export const DECOY_JWKS: readonly Record<string, unknown>[] = [
  { kty: 'XYZ', kid: 'decoy-kty', alg: 'ES256', use: 'sig' },
  { kty: 'EC', crv: 'P-999', kid: 'decoy-crv', x: 'AAAA', y: 'AAAA', use: 'sig' },
  { kty: 'oct', kid: 'decoy-oct', alg: 'HS256', k: 'c2VjcmV0' },
  { kty: 'RSA', kid: 'decoy-oaep', alg: 'RSA-OAEP', n: 'AQAB', e: 'AQAB' },
  { kty: 'EC', crv: 'P-256', kid: 42, alg: 'ES256', x: 'AAAA', y: 'AAAA' },
  { kid: 'decoy-no-kty' },
];

/** The shared world of the hostile suites. Create with `HostileEnvironment.start()`. */
export class HostileEnvironment {
  readonly idp: LoopbackIdp;
  readonly attackerServer: CountingServer;
  readonly main: IdpRealm;
  readonly other: IdpRealm;
  readonly keys: HostileKeys;
  readonly resource = RESOURCE;
  readonly #opaque = new Map<string, IntrospectionReply>();

  private constructor(idp: LoopbackIdp, attackerServer: CountingServer, keys: HostileKeys) {
    this.idp = idp;
    this.attackerServer = attackerServer;
    this.keys = keys;
    this.main = idp.realm('main');
    this.other = idp.realm('other');
    this.main.jwks = {
      keys: [
        ...DECOY_JWKS,
        keys.mainEs.publicJwk,
        keys.mainRs.publicJwk,
        keys.mainEd.publicJwk,
        keys.sharedKidA.publicJwk,
        keys.sharedKidB.publicJwk,
        keys.weakRsa.publicJwk,
        keys.encOnly.publicJwk,
        keys.signOnlyOps.publicJwk,
        keys.wrongCurve.publicJwk,
      ],
    };
    this.other.jwks = { keys: [keys.otherEs.publicJwk] };
    this.main.introspect = (token) =>
      this.#opaque.get(token) ?? { status: 200, body: '{"active":false}' };
  }

  /** Starts the IdP double and the counting server and generates every key. */
  static async start(): Promise<HostileEnvironment> {
    const [idp, attackerServer] = await Promise.all([LoopbackIdp.start(), CountingServer.start()]);
    const [mainEs, mainRs, mainEd, sharedKidA, sharedKidB, otherEs, attackerSameKid, attacker] =
      await Promise.all([
        createTestSigner('ES256', 'main-es256'),
        createTestSigner('RS256', 'main-rs256'),
        createTestSigner('EdDSA', 'main-eddsa'),
        createTestSigner('ES256', 'shared-kid'),
        createTestSigner('ES256', 'shared-kid'),
        createTestSigner('ES256', 'other-es256'),
        createTestSigner('ES256', 'main-es256'),
        createTestSigner('ES256', 'attacker-es256'),
      ]);
    const keys: HostileKeys = {
      mainEs,
      mainRs,
      mainEd,
      sharedKidA,
      sharedKidB,
      weakRsa: createRawSigner({ kind: 'rsa', modulusLength: 1024, alg: 'RS256', kid: 'weak-rsa' }),
      encOnly: createRawSigner(
        { kind: 'ec', namedCurve: 'P-256', alg: 'ES256', kid: 'enc-only' },
        { use: 'enc' },
      ),
      signOnlyOps: createRawSigner(
        { kind: 'ec', namedCurve: 'P-256', alg: 'ES256', kid: 'sign-only-ops' },
        { use: undefined, key_ops: ['sign'] },
      ),
      wrongCurve: createRawSigner({
        kind: 'ec',
        namedCurve: 'P-384',
        alg: 'ES256',
        kid: 'wrong-curve',
      }),
      otherEs,
      attackerSameKid,
      attacker,
    };
    return new HostileEnvironment(idp, attackerServer, keys);
  }

  /**
   * Registers an opaque token whose introspection answer is `reply` and returns the token (a
   * dot-free b64token, so verifiers send it to introspection).
   */
  opaqueToken(reply: IntrospectionReply): string {
    const token = `opq_${randomBytes(24).toString('base64url')}`;
    this.#opaque.set(token, reply);
    return token;
  }

  /** Changes the introspection answer of a registered opaque token (e.g. revocation). */
  setIntrospection(token: string, reply: IntrospectionReply): void {
    this.#opaque.set(token, reply);
  }

  /** Requests that reached the counting (attacker) server. */
  attackerRequests(): number {
    return this.attackerServer.requests;
  }

  /** Key set and discovery requests at the IdP double, per realm and in total. */
  keyRequests(): number {
    return this.idp.requests.filter((r) => !r.path.endsWith('/protocol/introspect')).length;
  }

  /** Introspection requests at the IdP double. */
  introspectionRequests(): number {
    return this.idp.requests.filter((r) => r.path.endsWith('/protocol/introspect')).length;
  }

  /** Stops both servers. */
  async close(): Promise<void> {
    await Promise.all([this.idp.close(), this.attackerServer.close()]);
  }
}
