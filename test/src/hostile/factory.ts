/**
 * The hostile-token factory: every malformed, mis-signed and mis-claimed token or request of
 * SECURITY-CASES rows 1–45 (plus the accepted variants those rows name), minted from real keys of
 * the hostile environment, each with the answer a protected endpoint must give. The table is
 * target-neutral: the harness sends it to core today and to the gateway later.
 */
import { createHmac, randomUUID, sign as cryptoSign } from 'node:crypto';
import { SignJWT } from 'jose';
import type { ReasonCode } from '@mcp-iam/core';
import { OTHER_RESOURCE, type HostileEnvironment } from './environment.js';
import { b64u, signCompact, type TestSigner } from './keys.js';

/** The OAuth error a challenge must carry (`undefined`: no `error` attribute, or no challenge). */
export type ChallengeError = 'invalid_token' | 'invalid_request' | 'insufficient_scope';

/**
 * Which outbound requests a case may cause: `none` (not a single request to the IdP or anywhere
 * else), `keys` (key set refetches at the issuer only, e.g. an unknown `kid`), `introspection`
 * (introspection at the issuer only). Requests to attacker URLs are never allowed.
 */
export type OutboundAllowance = 'none' | 'keys' | 'introspection';

/** A request as the harness sends it to the target's protected path. */
export interface HostileRequest {
  /** Default `POST`. */
  readonly method?: string;
  /** Header values; an array sends the header once per value. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** Query parameters appended to the protected path. */
  readonly query?: Readonly<Record<string, string>>;
  /** Raw body; default a `tools/call search_contacts` JSON-RPC request. */
  readonly body?: string;
}

/** What the target must answer. */
export interface HostileExpectation {
  readonly status: number;
  readonly error?: ChallengeError;
  /** Stable reason code of the single audit record (`allowed` for accepted requests). */
  readonly reason: ReasonCode;
  /** For 403 `insufficient_scope`: the scopes the challenge must name (any order). */
  readonly scope?: string;
  /** Outbound requests the case may cause; default `none`. */
  readonly outbound?: OutboundAllowance;
}

/** One row of the table. */
export interface HostileCase {
  /** SECURITY-CASES row number. */
  readonly row: number;
  /** What is sent and what must happen, in words (unique within the table). */
  readonly name: string;
  readonly request: HostileRequest;
  readonly expect: HostileExpectation;
  /**
   * Credential text that must never appear in a response body, audit record or log (the token,
   * or a query/form token). Checked whole and, for JWS, by 20-character windows of the signature.
   */
  readonly secret?: string;
  /** Other attacker-chosen strings that must not be echoed raw (e.g. a hostile `kid`). */
  readonly echoes?: readonly string[];
}

/** Default JSON-RPC body: a call of a tool that needs `crm.read`. */
export function toolCall(tool = 'search_contacts'): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: tool, arguments: {} },
  });
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

/** P-256 group order n (SEC 2), for malformed ECDSA signatures. */
const P256_ORDER = Buffer.from(
  'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
  'hex',
);

/**
 * Builds the whole table. Tokens are minted now, with lifetimes of minutes; run the cases soon
 * after (the within-leeway `exp` case has about 25 s of margin).
 *
 * @example
 * ```ts
 * for (const c of buildHostileCases(env)) await runHostileCase(target, env, c);
 * ```
 */
export function buildHostileCases(env: HostileEnvironment): HostileCase[] {
  const k = env.keys;
  const main = env.main.issuer;
  const resource = env.resource;
  const cases: HostileCase[] = [];

  const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => {
    const now = nowSec();
    const base: Record<string, unknown> = {
      iss: main,
      sub: 'alice',
      aud: resource,
      client_id: 'crm-app',
      scope: 'crm.read crm.write',
      iat: now,
      exp: now + 300,
      jti: randomUUID(),
    };
    for (const [name, value] of Object.entries(overrides)) {
      if (value === undefined) delete base[name];
      else base[name] = value;
    }
    return base;
  };
  const header = (signer: TestSigner, overrides: Record<string, unknown> = {}): string => {
    const h: Record<string, unknown> = { alg: signer.alg, typ: 'at+jwt', kid: signer.kid };
    for (const [name, value] of Object.entries(overrides)) {
      if (value === undefined) delete h[name];
      else h[name] = value;
    }
    return JSON.stringify(h);
  };
  /** A correctly signed token with claim and header overrides (`undefined` removes a member). */
  const mint = (
    claimOverrides: Record<string, unknown> = {},
    headerOverrides: Record<string, unknown> = {},
    signer: TestSigner = k.mainEs,
  ): string =>
    signCompact(header(signer, headerOverrides), JSON.stringify(claims(claimOverrides)), signer);

  const bearer = (token: string, extra: Record<string, string | readonly string[]> = {}) => ({
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...extra },
  });
  const invalid = (
    row: number,
    name: string,
    token: string,
    reason: ReasonCode,
    options: { outbound?: OutboundAllowance; echoes?: readonly string[] } = {},
  ): void => {
    cases.push({
      row,
      name,
      request: bearer(token),
      expect: {
        status: 401,
        error: 'invalid_token',
        reason,
        ...(options.outbound ? { outbound: options.outbound } : {}),
      },
      secret: token,
      ...(options.echoes ? { echoes: options.echoes } : {}),
    });
  };
  const accepted = (
    row: number,
    name: string,
    token: string,
    outbound?: OutboundAllowance,
  ): void => {
    cases.push({
      row,
      name,
      request: bearer(token),
      expect: { status: 200, reason: 'allowed', ...(outbound ? { outbound } : {}) },
      secret: token,
    });
  };
  const missing = (row: number, name: string, request: HostileRequest, secret?: string): void => {
    cases.push({
      row,
      name,
      request,
      expect: { status: 401, reason: 'missing_token' },
      ...(secret ? { secret } : {}),
    });
  };
  const badRequest = (
    row: number,
    name: string,
    request: HostileRequest,
    secret?: string,
  ): void => {
    cases.push({
      row,
      name,
      request,
      expect: { status: 400, error: 'invalid_request', reason: 'invalid_request' },
      ...(secret ? { secret } : {}),
    });
  };
  const json = { 'content-type': 'application/json' };
  const good = mint();
  const [goodH, goodP, goodS] = good.split('.') as [string, string, string];
  const goodInput = `${goodH}.${goodP}`;

  // ---- Transport and parsing (rows 1–10) -------------------------------------------------------
  missing(1, 'a request without an Authorization header gets a bare challenge', { headers: json });
  missing(2, 'a Basic Authorization header counts as no credentials', {
    headers: { ...json, authorization: 'Basic YWxpY2U6c2VjcmV0' },
  });
  missing(2, 'a Digest Authorization header counts as no credentials', {
    headers: { ...json, authorization: 'Digest username="alice", nonce="n"' },
  });
  missing(
    2,
    'a scheme that only starts with Bearer (Bearerx) counts as no credentials',
    { headers: { ...json, authorization: `Bearerx ${good}` } },
    good,
  );
  badRequest(3, 'the Bearer scheme without a token is invalid_request', {
    headers: { ...json, authorization: 'Bearer' },
  });
  badRequest(3, 'a Bearer token of spaces only is invalid_request', {
    headers: { ...json, authorization: 'Bearer      ' },
  });
  for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
    const token = mint();
    cases.push({
      row: 4,
      name: `the scheme written "${scheme}" is accepted`,
      request: { headers: { ...json, authorization: `${scheme} ${token}` } },
      expect: { status: 200, reason: 'allowed' },
      secret: token,
    });
  }
  badRequest(
    5,
    'two Authorization headers are invalid_request',
    { headers: { ...json, authorization: [`Bearer ${good}`, `Bearer ${mint()}`] } },
    good,
  );
  badRequest(
    5,
    'an Authorization header plus access_token in the query is invalid_request',
    { ...bearer(good), query: { access_token: good } },
    good,
  );
  badRequest(
    5,
    'an Authorization header plus access_token in a form body is invalid_request',
    {
      headers: {
        authorization: `Bearer ${good}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `access_token=${good}`,
    },
    good,
  );
  const queryOnly = mint();
  missing(
    6,
    'a token only in the query string counts as no credentials',
    {
      headers: json,
      query: { access_token: queryOnly },
    },
    queryOnly,
  );
  const formOnly = mint();
  missing(
    6,
    'a token only in a form body counts as no credentials',
    {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `access_token=${formOnly}`,
    },
    formOnly,
  );
  invalid(
    7,
    'a 64 KB Authorization header is refused by the size cap',
    'A'.repeat(64 * 1024),
    'token_too_large',
  );
  invalid(
    7,
    'a 9 KB signed token is refused by the 8 KB size cap',
    mint({ pad: 'x'.repeat(6500) }),
    'token_too_large',
  );
  invalid(8, 'a token of 100 000 dots is refused', '.'.repeat(100_000), 'token_too_large');
  invalid(
    8,
    'a token of 8 000 dots (under the size cap) is malformed',
    '.'.repeat(8000),
    'token_malformed',
  );
  invalid(8, 'a two-segment token is malformed', goodInput, 'token_malformed');
  invalid(8, 'a five-segment token is malformed', `${good}.${goodS}.${goodS}`, 'token_malformed');
  invalid(
    9,
    'a padded signature segment is not canonical base64url',
    `${good}=`,
    'token_malformed',
  );
  invalid(
    9,
    'a signature with non-zero trailing bits is not canonical',
    nonCanonicalTail(good),
    'token_malformed',
  );
  invalid(
    9,
    'a signature in the standard base64 alphabet is not canonical',
    standardAlphabet(mint, k.mainEs),
    'token_malformed',
  );
  invalid(
    9,
    'a header segment of impossible length (4n+1) is malformed',
    `${goodH}A.${goodP}.${goodS}`,
    'token_malformed',
  );
  badRequest(
    9,
    'padding inside the token is outside the b64token grammar (400)',
    {
      ...bearer(`${goodH}==.${goodP}.${goodS}`),
    },
    `${goodH}==.${goodP}.${goodS}`,
  );
  badRequest(
    9,
    'a space inside the token is outside the b64token grammar (400)',
    {
      ...bearer(`${goodH}.${goodP} .${goodS}`),
    },
    goodS,
  );
  const headerNotJson = `${b64u('not json')}.${goodP}.${goodS}`;
  invalid(10, 'a header that is not JSON is malformed', headerNotJson, 'token_malformed');
  invalid(
    10,
    'a header that is a JSON array is malformed',
    `${b64u('["ES256"]')}.${goodP}.${goodS}`,
    'token_malformed',
  );
  invalid(
    10,
    'a payload that is a JSON array is malformed',
    signCompact(header(k.mainEs), '[1,2]', k.mainEs),
    'token_malformed',
  );
  invalid(
    10,
    'a payload that is a bare JSON string is malformed',
    signCompact(header(k.mainEs), '"alice"', k.mainEs),
    'token_malformed',
  );
  invalid(
    10,
    'a payload that is not UTF-8 is malformed',
    `${goodH}.${Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url')}.${goodS}`,
    'token_malformed',
  );
  invalid(
    10,
    'a header nested 2 900 deep (under the size cap) is malformed',
    `${b64u(`${'['.repeat(2900)}${']'.repeat(2900)}`)}.${goodP}.${goodS}`,
    'token_malformed',
  );
  invalid(
    10,
    'a header nested 100 000 deep is refused by the size cap',
    `${b64u(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)}.${goodP}.${goodS}`,
    'token_too_large',
  );

  // ---- JOSE header (rows 11–23) ----------------------------------------------------------------
  for (const alg of ['none', 'None', 'NONE']) {
    invalid(
      11,
      `alg ${alg} without a signature is malformed`,
      `${b64u(header(k.mainEs, { alg }))}.${goodP}.`,
      'token_malformed',
    );
    invalid(
      11,
      `alg ${alg} with a real ES256 signature is refused`,
      signCompact(header(k.mainEs, { alg }), JSON.stringify(claims()), k.mainEs, 'ES256'),
      'token_bad_header',
    );
  }
  const rsaSecrets: Array<[string, Buffer]> = [
    ['PEM', Buffer.from(k.mainRs.publicKey.export({ type: 'spki', format: 'pem' }))],
    ['DER', k.mainRs.publicKey.export({ type: 'spki', format: 'der' })],
    ['JWK', Buffer.from(JSON.stringify(k.mainRs.publicJwk))],
    ['PKCS#1 PEM', Buffer.from(k.mainRs.publicKey.export({ type: 'pkcs1', format: 'pem' }))],
  ];
  for (const [form, secret] of rsaSecrets) {
    const input = `${b64u(header(k.mainRs, { alg: 'HS256' }))}.${b64u(JSON.stringify(claims()))}`;
    const mac = createHmac('sha256', secret).update(input).digest('base64url');
    invalid(
      12,
      `HS256 keyed with the issuer RSA public key as ${form} bytes is refused`,
      `${input}.${mac}`,
      'token_bad_header',
    );
  }
  invalid(
    13,
    'RS512 (outside the issuer allowlist) is refused',
    signCompact(header(k.mainRs, { alg: 'RS512' }), JSON.stringify(claims()), k.mainRs, 'RS512'),
    'token_bad_header',
  );
  invalid(
    13,
    'PS256 (outside the issuer allowlist) is refused',
    signCompact(header(k.mainRs, { alg: 'PS256' }), JSON.stringify(claims()), k.mainRs, 'PS256'),
    'token_bad_header',
  );
  invalid(13, 'lower-case alg es256 is refused', mint({}, { alg: 'es256' }), 'token_bad_header');
  invalid(13, 'alg given as an array is refused', mint({}, { alg: ['ES256'] }), 'token_bad_header');
  invalid(13, 'a header without alg is refused', mint({}, { alg: undefined }), 'token_bad_header');
  invalid(
    14,
    'RS256 under the EC key kid is refused',
    signCompact(header(k.mainRs, { kid: k.mainEs.kid }), JSON.stringify(claims()), k.mainRs),
    'token_unknown_key',
    { outbound: 'keys' },
  );
  invalid(
    14,
    'ES256 under the RSA key kid is refused',
    signCompact(header(k.mainEs, { kid: k.mainRs.kid }), JSON.stringify(claims()), k.mainEs),
    'token_unknown_key',
    { outbound: 'keys' },
  );
  invalid(
    14,
    'EdDSA under the EC key kid is refused',
    signCompact(header(k.mainEd, { kid: k.mainEs.kid }), JSON.stringify(claims()), k.mainEd),
    'token_unknown_key',
    { outbound: 'keys' },
  );
  invalid(15, 'an unknown kid is refused', mint({}, { kid: randomUUID() }), 'token_unknown_key', {
    outbound: 'keys',
  });
  const hostileKids: Array<[string, string]> = [
    ['path traversal', '../../../../etc/passwd'],
    ['SQL', "' OR '1'='1' --"],
    ['NUL', 'main\u0000es256'],
    ['CR LF', 'main-es256\r\nX-Injected: 1'],
    ['ANSI escapes', '\u001b[2J\u001b[31mALERT\u001b[0m'],
    ['C1 and line separators', 'a\u0085b\u2028c'],
  ];
  for (const [what, kid] of hostileKids) {
    invalid(16, `a kid with ${what} is refused`, mint({}, { kid }), 'token_unknown_key', {
      outbound: 'keys',
      echoes: [kid],
    });
  }
  invalid(
    16,
    'a kid of 1 000 characters is refused by the kid cap',
    mint({}, { kid: 'k'.repeat(1000) }),
    'token_bad_header',
  );
  invalid(
    16,
    'a kid of 10 KB is refused by the size cap',
    mint({}, { kid: 'k'.repeat(10 * 1024) }),
    'token_too_large',
  );
  for (const member of ['jku', 'x5u']) {
    invalid(
      17,
      `a ${member} naming an attacker URL is refused and never fetched`,
      signCompact(
        header(k.attacker, { [member]: `${env.attackerServer.origin}/${member}.json` }),
        JSON.stringify(claims()),
        k.attacker,
      ),
      'token_bad_header',
    );
    invalid(
      17,
      `a ${member} beside the legitimate kid is refused and never fetched`,
      mint({}, { [member]: `${env.attackerServer.origin}/${member}-kid.json` }),
      'token_bad_header',
    );
  }
  invalid(
    18,
    'an embedded jwk with an attacker key is refused',
    signCompact(
      header(k.attacker, { jwk: k.attacker.publicJwk, kid: undefined }),
      JSON.stringify(claims()),
      k.attacker,
    ),
    'token_bad_header',
  );
  invalid(
    18,
    'an embedded jwk beside the legitimate kid is refused',
    signCompact(
      header(k.attackerSameKid, { jwk: k.attackerSameKid.publicJwk }),
      JSON.stringify(claims()),
      k.attackerSameKid,
    ),
    'token_bad_header',
  );
  invalid(
    18,
    'an embedded x5c chain is refused',
    signCompact(
      header(k.attacker, { x5c: ['MIIBszCCAVmgAwIBAgIUQ'] }),
      JSON.stringify(claims()),
      k.attacker,
    ),
    'token_bad_header',
  );
  const critVariants: Array<[string, Record<string, unknown>]> = [
    ['an unknown extension', { crit: ['urn:example:unknown'], 'urn:example:unknown': true }],
    ['a standard header (exp)', { crit: ['exp'], exp: 1 }],
    ['a standard header (alg)', { crit: ['alg'] }],
    ['nothing (empty list)', { crit: [] }],
  ];
  for (const [what, extra] of critVariants) {
    invalid(19, `crit naming ${what} is refused`, mint({}, extra), 'token_bad_header');
  }
  invalid(
    20,
    'b64 false with crit b64 is refused',
    mint({}, { b64: false, crit: ['b64'] }),
    'token_bad_header',
  );
  invalid(20, 'b64 false without crit is refused', mint({}, { b64: false }), 'token_bad_header');
  const typVariants: Array<[string, unknown]> = [
    ['missing', undefined],
    ['JWT', 'JWT'],
    ['application/jwt', 'application/jwt'],
    ['dpop+jwt', 'dpop+jwt'],
    ['logout+jwt', 'logout+jwt'],
    ['a number', 42],
  ];
  for (const [what, typ] of typVariants) {
    invalid(21, `typ ${what} is refused`, mint({}, { typ }), 'token_bad_type');
  }
  accepted(21, 'typ application/at+jwt is accepted', mint({}, { typ: 'application/at+jwt' }));
  accepted(21, 'typ AT+JWT (case-insensitive) is accepted', mint({}, { typ: 'AT+JWT' }));
  invalid(
    22,
    'a duplicate alg in the header is refused',
    signCompact(
      `{"alg":"ES256","typ":"at+jwt","kid":"main-es256","alg":"none"}`,
      JSON.stringify(claims()),
      k.mainEs,
    ),
    'token_malformed',
  );
  const payload = JSON.stringify(claims({ sub: 'alice' }));
  invalid(
    22,
    'a duplicate sub in the payload is refused',
    signCompact(
      header(k.mainEs),
      payload.replace('"sub":"alice"', '"sub":"alice","sub":"admin"'),
      k.mainEs,
    ),
    'token_malformed',
  );
  invalid(
    22,
    'a duplicate aud spelled with a unicode escape is refused',
    signCompact(
      header(k.mainEs),
      payload.replace('"aud":', `"a\\u0075d":"${OTHER_RESOURCE}","aud":`),
      k.mainEs,
    ),
    'token_malformed',
  );
  invalid(
    22,
    'a duplicate scope in the payload is refused',
    signCompact(
      header(k.mainEs),
      payload.replace('"scope":', '"scope":"crm.admin","scope":'),
      k.mainEs,
    ),
    'token_malformed',
  );
  invalid(23, 'cty JWT (nested token) is refused', mint({}, { cty: 'JWT' }), 'token_bad_header');
  invalid(
    23,
    'a payload that is itself a JWT is malformed',
    signCompact(header(k.mainEs, { cty: undefined }), good, k.mainEs),
    'token_malformed',
  );
  const jweHeader = b64u(
    JSON.stringify({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: k.mainRs.kid }),
  );
  invalid(
    23,
    'a JWE-shaped five-segment token is malformed',
    `${jweHeader}.${b64u('key')}.${b64u('iv')}.${b64u('ciphertext')}.${b64u('tag')}`,
    'token_malformed',
  );
  invalid(
    23,
    'a three-segment token with JWE header members is refused',
    signCompact(header(k.mainEs, { enc: 'A256GCM' }), JSON.stringify(claims()), k.mainEs),
    'token_bad_header',
  );

  // ---- Signature (rows 24–30) ------------------------------------------------------------------
  invalid(24, 'a stripped signature (two segments) is malformed', goodInput, 'token_malformed');
  invalid(24, 'an empty signature is malformed', `${goodInput}.`, 'token_malformed');
  invalid(
    24,
    'a truncated signature is refused',
    `${goodInput}.${goodS.slice(0, 40)}`,
    'token_bad_signature',
  );
  for (const bit of [0, 77, 511]) {
    const sig = Buffer.from(goodS, 'base64url');
    sig[bit >> 3] = sig[bit >> 3]! ^ (1 << (bit & 7));
    invalid(
      24,
      `a signature with bit ${bit} flipped is refused`,
      `${goodInput}.${sig.toString('base64url')}`,
      'token_bad_signature',
    );
  }
  invalid(
    24,
    'a tampered payload (sub admin) under the original signature is refused',
    `${goodH}.${b64u(JSON.stringify({ ...JSON.parse(Buffer.from(goodP, 'base64url').toString()), sub: 'admin' }))}.${goodS}`,
    'token_bad_signature',
  );
  invalid(
    24,
    'a tampered header under the original signature is refused',
    `${b64u(header(k.mainEs, { typ: 'application/at+jwt' }))}.${goodP}.${goodS}`,
    'token_bad_signature',
  );
  invalid(
    24,
    'another token’s signature on this header and payload is refused',
    `${goodInput}.${mint().split('.')[2]}`,
    'token_bad_signature',
  );
  invalid(
    25,
    'an attacker key reusing the legitimate kid is refused',
    mint({}, {}, k.attackerSameKid),
    'token_bad_signature',
  );
  const ecdsa: Array<[string, Buffer]> = [
    ['r = s = 0', Buffer.alloc(64)],
    ['r = s = n', Buffer.concat([P256_ORDER, P256_ORDER])],
    ['r = n, s = 1', Buffer.concat([P256_ORDER, Buffer.alloc(31), Buffer.from([1])])],
    ['all 0xFF', Buffer.alloc(64, 0xff)],
  ];
  for (const [what, sig] of ecdsa) {
    invalid(
      26,
      `an ES256 signature with ${what} is refused`,
      `${goodInput}.${sig.toString('base64url')}`,
      'token_bad_signature',
    );
  }
  const der = cryptoSign('sha256', Buffer.from(goodInput), {
    key: k.mainEs.privateKey,
    dsaEncoding: 'der',
  });
  invalid(
    27,
    'an ES256 signature DER-encoded instead of r‖s is refused',
    `${goodInput}.${der.toString('base64url')}`,
    'token_bad_signature',
  );
  invalid(
    28,
    'a token signed by a published RSA 1024 key is refused',
    mint({}, {}, k.weakRsa),
    'token_unknown_key',
    { outbound: 'keys' },
  );
  invalid(
    28,
    'a token signed by a published use:enc key is refused',
    mint({}, {}, k.encOnly),
    'token_unknown_key',
    { outbound: 'keys' },
  );
  invalid(
    28,
    'a token signed by a published key whose key_ops lack verify is refused',
    mint({}, {}, k.signOnlyOps),
    'token_unknown_key',
    { outbound: 'keys' },
  );
  invalid(
    28,
    'a token signed by a published P-384 key declared ES256 is refused',
    mint({}, {}, k.wrongCurve),
    'token_unknown_key',
    { outbound: 'keys' },
  );
  accepted(29, 'the real ES256 key verifies beside unusable decoy keys', good);
  accepted(29, 'the real RS256 key verifies beside unusable decoy keys', mint({}, {}, k.mainRs));
  accepted(29, 'the real EdDSA key verifies beside unusable decoy keys', mint({}, {}, k.mainEd));
  invalid(
    30,
    'a kid shared by two keys is refused (first key)',
    mint({}, {}, k.sharedKidA),
    'token_unknown_key',
    { outbound: 'keys' },
  );
  invalid(
    30,
    'a kid shared by two keys is refused (second key)',
    mint({}, {}, k.sharedKidB),
    'token_unknown_key',
    { outbound: 'keys' },
  );
  invalid(
    30,
    'no kid against a set with several ES256 keys is refused',
    mint({}, { kid: undefined }),
    'token_unknown_key',
    { outbound: 'keys' },
  );

  // ---- Claims (rows 31–41) ---------------------------------------------------------------------
  const now = nowSec();
  invalid(
    31,
    'exp 60 s past (beyond the 30 s leeway) is refused',
    mint({ iat: now - 600, exp: now - 60 }),
    'token_expired',
  );
  accepted(
    31,
    'exp 5 s past (within the 30 s leeway) is accepted',
    mint({ iat: now - 600, exp: now - 5 }),
  );
  invalid(32, 'a missing exp is refused', mint({ exp: undefined }), 'token_missing_claim');
  for (const [what, exp] of [
    ['a string', String(now + 60)],
    ['an array', [now + 60]],
    ['negative', -1],
    ['1e300', 1e300],
    ['null', null],
  ] as Array<[string, unknown]>) {
    invalid(32, `exp as ${what} is refused`, mint({ exp }), 'token_bad_claim');
  }
  invalid(
    32,
    'a lifetime exp − iat above the 24 h maximum is refused',
    mint({ iat: now, exp: now + 86_401 }),
    'token_lifetime_exceeded',
  );
  invalid(
    33,
    'nbf 120 s in the future is refused',
    mint({ nbf: now + 120 }),
    'token_not_yet_valid',
  );
  invalid(
    33,
    'iat 120 s in the future is refused',
    mint({ iat: now + 120, exp: now + 600 }),
    'token_not_yet_valid',
  );
  invalid(33, 'a missing iat is refused', mint({ iat: undefined }), 'token_missing_claim');
  for (const [what, iss] of [
    ['with a trailing slash', `${main}/`],
    ['in upper case', main.toUpperCase()],
    ['as a prefix of ours', main.slice(0, -1)],
    ['as a path prefix of ours', `${env.idp.origin}/realms`],
    ['with ours as a prefix', `${main}x`],
    ['naming an unconfigured realm', `${env.idp.origin}/realms/unknown`],
  ] as Array<[string, string]>) {
    invalid(34, `iss ${what} is refused`, mint({ iss }), 'token_unknown_issuer');
  }
  invalid(34, 'iss as an array is refused', mint({ iss: [main] }), 'token_bad_issuer');
  invalid(34, 'a missing iss is refused', mint({ iss: undefined }), 'token_bad_issuer');
  for (const [what, aud] of [
    ['missing', undefined],
    ['another server', OTHER_RESOURCE],
    ['with a trailing slash', `${resource}/`],
    ['in upper case', resource.toUpperCase()],
    ['empty', ''],
    ['[""]', ['']],
    ['[]', []],
    ['a number', 5],
    ['an array with a number', [resource, 5]],
    ['an object', { aud: resource }],
  ] as Array<[string, unknown]>) {
    invalid(35, `aud ${what} is refused`, mint({ aud }), 'token_bad_audience');
  }
  accepted(
    35,
    'an aud array containing ours is accepted',
    mint({ aud: [OTHER_RESOURCE, resource] }),
  );
  invalid(36, 'a missing sub is refused', mint({ sub: undefined }), 'token_missing_claim');
  invalid(
    36,
    'a missing client_id is refused',
    mint({ client_id: undefined }),
    'token_missing_claim',
  );
  invalid(
    36,
    'a missing jti is refused (the issuer requires it)',
    mint({ jti: undefined }),
    'token_missing_claim',
  );
  invalid(36, 'an empty sub is refused', mint({ sub: '' }), 'token_bad_claim');
  invalid(36, 'a numeric client_id is refused', mint({ client_id: 42 }), 'token_bad_claim');
  const scoped = (row: number, name: string, token: string, tool: string, scope: string): void => {
    cases.push({
      row,
      name,
      request: { ...bearer(token), body: toolCall(tool) },
      expect: { status: 403, error: 'insufficient_scope', reason: 'insufficient_scope', scope },
      secret: token,
    });
  };
  scoped(
    37,
    'a token without crm.write calling update_contact gets insufficient_scope',
    mint({ scope: 'crm.read' }),
    'update_contact',
    'crm.write',
  );
  scoped(
    37,
    'a token without any scope calling export_contacts is told every needed scope',
    mint({ scope: undefined }),
    'export_contacts',
    'crm.read crm.export',
  );
  scoped(
    37,
    'a token with crm.read calling export_contacts is told every needed scope',
    mint({ scope: 'crm.read' }),
    'export_contacts',
    'crm.read crm.export',
  );
  accepted(38, 'a scope claim as an array of strings is accepted', mint({ scope: ['crm.read'] }));
  accepted(38, 'duplicate scopes are accepted', mint({ scope: 'crm.read crm.read' }));
  scoped(
    38,
    'scopes compare case-sensitively (CRM.READ is not crm.read)',
    mint({ scope: 'CRM.READ' }),
    'search_contacts',
    'crm.read',
  );
  scoped(
    38,
    'a tab does not separate scopes',
    mint({ scope: 'crm.write\tcrm.read' }),
    'search_contacts',
    'crm.read',
  );
  scoped(
    38,
    'scp is not read when the issuer maps scope',
    mint({ scope: undefined, scp: 'crm.read' }),
    'search_contacts',
    'crm.read',
  );
  invalid(
    38,
    'a numeric scope claim is refused without a crash',
    mint({ scope: 42 }),
    'token_bad_claim',
  );
  invalid(
    38,
    'a scope array holding numbers is refused without a crash',
    mint({ scope: [1, 2] }),
    'token_bad_claim',
  );
  invalid(
    38,
    'a scope object is refused without a crash',
    mint({ scope: { 'crm.read': true } }),
    'token_bad_claim',
  );
  invalid(
    39,
    'an ID token (typ JWT, nonce, at_hash, aud the client) is refused',
    mint(
      { aud: 'crm-app', nonce: 'n-0S6', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q', azp: 'crm-app' },
      { typ: 'JWT' },
    ),
    'token_bad_type',
  );
  invalid(
    39,
    'an ID-token-shaped token with typ at+jwt (nonce) is refused',
    mint({ nonce: 'n-0S6' }),
    'token_bad_type',
  );
  invalid(
    39,
    'a refresh token (typ rt+jwt) is refused',
    mint({}, { typ: 'rt+jwt' }),
    'token_bad_type',
  );
  invalid(
    39,
    'a DPoP proof (typ dpop+jwt, embedded jwk) is refused',
    signCompact(
      header(k.mainEs, { typ: 'dpop+jwt', jwk: k.mainEs.publicJwk, kid: undefined }),
      JSON.stringify({ htm: 'POST', htu: resource, iat: now, jti: randomUUID() }),
      k.mainEs,
    ),
    'token_bad_header',
  );
  invalid(
    39,
    'a DPoP-proof-shaped token with typ at+jwt (htm, htu) is refused',
    mint({ htm: 'POST', htu: resource }),
    'token_bad_type',
  );
  invalid(
    39,
    'a logout token (typ logout+jwt, events) is refused',
    mint(
      { events: { 'http://schemas.openid.net/event/backchannel-logout': {} } },
      { typ: 'logout+jwt' },
    ),
    'token_bad_type',
  );
  invalid(
    39,
    'a logout-token-shaped token with typ at+jwt (events) is refused',
    mint({ events: {} }),
    'token_bad_type',
  );
  const refreshOpaque = env.opaqueToken({
    status: 200,
    body: JSON.stringify({
      active: true,
      ...introspected(main, resource),
      token_type: 'refresh_token',
    }),
  });
  invalid(
    39,
    'an opaque refresh token (introspection token_type refresh_token) is refused',
    refreshOpaque,
    'token_bad_type',
    { outbound: 'introspection' },
  );
  accepted(
    40,
    'a token of the other configured realm signed with that realm’s key is accepted',
    mint({ iss: env.other.issuer }, {}, k.otherEs),
  );
  invalid(
    40,
    'the other realm’s iss signed with the main realm’s key is refused',
    mint({ iss: env.other.issuer }),
    'token_unknown_key',
    { outbound: 'keys' },
  );
  invalid(
    40,
    'the main realm’s iss signed with the other realm’s key is refused',
    mint({}, {}, k.otherEs),
    'token_unknown_key',
    { outbound: 'keys' },
  );
  invalid(
    40,
    'the other realm’s iss with the other realm’s kid but the main realm’s key is refused',
    mint({ iss: env.other.issuer }, { kid: k.otherEs.kid }),
    'token_bad_signature',
  );

  // ---- Opaque tokens (rows 42–44) --------------------------------------------------------------
  const opaque = (row: number, name: string, body: string, reason: ReasonCode): void =>
    invalid(row, name, env.opaqueToken({ status: 200, body }), reason, {
      outbound: 'introspection',
    });
  opaque(42, 'introspection active:false is refused', '{"active":false}', 'token_inactive');
  opaque(
    42,
    'introspection active:"true" (a string) is refused',
    JSON.stringify({ ...introspected(main, resource), active: 'true' }),
    'token_inactive',
  );
  opaque(
    42,
    'introspection without active is refused',
    JSON.stringify(introspected(main, resource)),
    'token_inactive',
  );
  opaque(42, 'introspection that is not JSON is refused', '<html>ok</html>', 'token_inactive');
  opaque(
    42,
    'introspection that is a JSON array is refused',
    '[{"active":true}]',
    'token_inactive',
  );
  opaque(
    43,
    'active:true with a foreign aud is refused',
    JSON.stringify({ active: true, ...introspected(main, OTHER_RESOURCE) }),
    'token_bad_audience',
  );
  opaque(
    43,
    'active:true with an unexpected iss is refused',
    JSON.stringify({ active: true, ...introspected(env.other.issuer, resource) }),
    'token_bad_issuer',
  );
  opaque(
    43,
    'active:true with a past exp is refused',
    JSON.stringify({ active: true, ...introspected(main, resource), exp: now - 600 }),
    'token_expired',
  );
  const unavailable = env.opaqueToken({ status: 500, body: '{"error":"server_error"}' });
  cases.push({
    row: 60,
    name: 'an introspection endpoint answering 500 is never an allow',
    request: bearer(unavailable),
    expect: { status: 503, reason: 'introspection_unavailable', outbound: 'introspection' },
    secret: unavailable,
  });
  accepted(
    43,
    'an active opaque token for this resource is accepted',
    env.opaqueToken({
      status: 200,
      body: JSON.stringify({ active: true, ...introspected(main, resource) }),
    }),
    'introspection',
  );
  invalid(
    44,
    'a JWT-shaped token with a bad signature is not retried through introspection',
    `${goodInput}.${Buffer.alloc(64, 7).toString('base64url')}`,
    'token_bad_signature',
  );
  invalid(
    44,
    'a JWT-shaped token for another audience is not retried through introspection',
    mint({ aud: OTHER_RESOURCE }),
    'token_bad_audience',
  );

  assertUniqueNames(cases);
  // The within-leeway case expires 25 s after minting: run it first.
  const urgent = cases.findIndex((c) => c.row === 31 && c.expect.status === 200);
  return [...cases.splice(urgent, 1), ...cases];
}

/** Introspection claims of an active access token for `aud` (exp in 5 minutes). */
export function introspected(iss: string, aud: string): Record<string, unknown> {
  const now = nowSec();
  return {
    iss,
    aud,
    sub: 'bob',
    client_id: 'crm-app',
    scope: 'crm.read',
    token_type: 'Bearer',
    iat: now,
    exp: now + 300,
  };
}

/** The same token with the last signature character changed so unused trailing bits are set. */
function nonCanonicalTail(token: string): string {
  const last = token.at(-1)!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  // ES256: 64 bytes → 86 characters, the last one carries 4 unused low bits.
  const index = alphabet.indexOf(last);
  return `${token.slice(0, -1)}${alphabet[(index & ~0x0f) | 0x01]}`;
}

/** A valid token whose signature is rewritten in the standard base64 alphabet (`+`, `/`). */
function standardAlphabet(
  mint: (c?: Record<string, unknown>, h?: Record<string, unknown>, s?: TestSigner) => string,
  signer: TestSigner,
): string {
  for (;;) {
    const token = mint({}, {}, signer);
    const [h, p, s] = token.split('.') as [string, string, string];
    if (/[-_]/.test(s)) return `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}`;
  }
}

function assertUniqueNames(cases: readonly HostileCase[]): void {
  const seen = new Set<string>();
  for (const c of cases) {
    const key = `${c.row}:${c.name}`;
    if (seen.has(key)) throw new Error(`duplicate hostile case name: ${key}`);
    seen.add(key);
  }
}

/**
 * A valid access token minted with jose's `SignJWT` (independent of the raw signer above), for the
 * harness's own sanity check that a well-formed token is accepted.
 */
export async function mintWithJose(env: HostileEnvironment): Promise<string> {
  const k = env.keys.mainEs;
  return new SignJWT({ scope: 'crm.read', client_id: 'crm-app' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: k.kid! })
    .setIssuer(env.main.issuer)
    .setSubject('alice')
    .setAudience(env.resource)
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti(randomUUID())
    .sign(k.privateKey);
}
