/**
 * Probes of the clients the gateway authenticates as: the introspection client of an issuer and
 * the gateway's own client (token exchange). Each sends a request that must fail on its made-up
 * token, never on the client; a refusal names the endpoint, the IdP's answer, the client id and
 * the YAML keys that hold the client id and its secret. Secrets are never printed.
 */
import { basicCredentials, discoverIssuer } from '@mcp-iam/core';
import { describeIssuerError, type GatewayConfig, type IssuerConfig } from '../../config/index.js';
import {
  describeAnswer,
  describeSilence,
  oauthErrorOf,
  probe,
  type ProbeAnswer,
} from './http-probe.js';
import { finding, type CheckFinding } from './report.js';

/** The made-up token both probes send. */
const PROBE_TOKEN = 'mcp-iam-check-probe';

/** OAuth errors that refuse the client itself, not the request. */
const CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client']);

/** Where a client's id and secret are written in the configuration file. */
interface ClientKeys {
  readonly clientId: string;
  readonly idKey: string;
  readonly secretKey: string;
  readonly secret: string;
}

function refusedClient(endpoint: string, answer: ProbeAnswer, keys: ClientKeys): string {
  const secretNote = keys.secret === '' ? ` (${keys.secretKey} is empty)` : '';
  return (
    `client authentication refused at ${endpoint}: ${describeAnswer(answer)}; the IdP does not ` +
    `accept client ${JSON.stringify(keys.clientId)} (${keys.idKey}) with the secret in ` +
    `${keys.secretKey}${secretNote}`
  );
}

function isClientRefusal(answer: ProbeAnswer): boolean {
  const { error } = oauthErrorOf(answer);
  return answer.status === 401 || (error !== undefined && error === 'invalid_client');
}

/** Authenticates as the issuer's introspection client and introspects a made-up token. */
export async function probeIntrospection(
  issuer: IssuerConfig,
  index: number,
  timeoutMs: number,
): Promise<CheckFinding> {
  const subject = `issuer ${issuer.issuer}: introspection`;
  const settings = issuer.introspection!;
  const keys: ClientKeys = {
    clientId: settings.client_id,
    idKey: `issuers[${index}].introspection.client_id`,
    secretKey: `issuers[${index}].introspection.client_secret`,
    secret: settings.client_secret ?? '',
  };
  const answer = await probe(
    settings.endpoint,
    {
      method: 'POST',
      headers: {
        authorization: `Basic ${basicCredentials(keys.clientId, keys.secret)}`,
        accept: 'application/json',
      },
      form: { token: PROBE_TOKEN },
    },
    timeoutMs,
  );
  if (answer.kind === 'silence') {
    return finding('fail', subject, describeSilence('POST', settings.endpoint, answer));
  }
  const { error } = oauthErrorOf(answer);
  if (isClientRefusal(answer) || (error !== undefined && CLIENT_ERRORS.has(error))) {
    return finding('fail', subject, refusedClient(settings.endpoint, answer, keys));
  }
  if (answer.status !== 200) {
    return finding('fail', subject, `${settings.endpoint} answered ${describeAnswer(answer)}`);
  }
  if (answer.json?.active !== false) {
    return finding(
      'fail',
      subject,
      `a made-up token did not introspect as inactive at ${settings.endpoint}`,
    );
  }
  return finding(
    'ok',
    subject,
    `client ${keys.clientId} authenticated at ${settings.endpoint}; a made-up token is inactive`,
  );
}

/**
 * Proves the gateway's own client can authenticate at the token endpoint: a token-exchange request
 * with a made-up subject token must fail on the subject (invalid_grant / invalid_request /
 * invalid_target), not on the client (invalid_client / unauthorized_client).
 */
export async function probeExchangeClient(
  config: GatewayConfig,
  timeoutMs: number,
): Promise<CheckFinding> {
  const client = config.client!;
  const subject = `client ${client.client_id}: token exchange`;
  const issuer = config.issuers[0]!;
  let endpoint = client.token_endpoint;
  if (endpoint === undefined) {
    try {
      const metadata = await discoverIssuer(issuer.issuer, {
        timeoutMs,
        allowInsecureLoopbackHttp: issuer.allow_insecure_loopback_http ?? false,
      });
      endpoint = metadata.token_endpoint;
    } catch (error) {
      return finding(
        'fail',
        subject,
        `no token endpoint (client.token_endpoint is not set and discovery failed): ` +
          describeIssuerError(error, 0),
      );
    }
    if (endpoint === undefined) {
      return finding(
        'fail',
        subject,
        `the metadata of ${issuer.issuer} has no token_endpoint; set client.token_endpoint`,
      );
    }
  }
  const keys: ClientKeys = {
    clientId: client.client_id,
    idKey: 'client.client_id',
    secretKey: 'client.client_secret',
    secret: client.client_secret ?? '',
  };
  const target = config.routes.find((r) => r.downstream?.mode === 'token-exchange');
  const audience = target?.downstream?.audience ?? target?.upstream.url;
  const answer = await probe(
    endpoint,
    {
      method: 'POST',
      headers: {
        authorization: `Basic ${basicCredentials(keys.clientId, keys.secret)}`,
        accept: 'application/json',
      },
      form: {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: PROBE_TOKEN,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        ...(audience ? { resource: audience } : {}),
      },
    },
    timeoutMs,
  );
  if (answer.kind === 'silence') {
    return finding('fail', subject, describeSilence('POST', endpoint, answer));
  }
  const { error } = oauthErrorOf(answer);
  if (isClientRefusal(answer)) {
    return finding('fail', subject, refusedClient(endpoint, answer, keys));
  }
  if (error === 'unauthorized_client' || error === 'unsupported_grant_type') {
    return finding(
      'fail',
      subject,
      `the IdP does not let client ${JSON.stringify(keys.clientId)} (${keys.idKey}) exchange ` +
        `tokens at ${endpoint}: ${describeAnswer(answer)}`,
    );
  }
  if (answer.status >= 500) {
    return finding('fail', subject, `${endpoint} answered ${describeAnswer(answer)}`);
  }
  return finding('ok', subject, `client authentication accepted at ${endpoint}`);
}
