/**
 * One complete end-to-end stack on 127.0.0.1 with ephemeral ports: the development IdP, the
 * recording "crm" HTTP upstream, the stdio notes server, and the gateway started from a YAML file
 * written into a temporary directory (audit spool in strict mode). The gateway's port is reserved
 * first so that its route resource URLs can be given to the IdP's fixtures before either starts.
 *
 * Routes: `crm` (HTTP, token exchange to the upstream's own resource URL), `direct` (HTTP to the
 * same upstream, downstream mode none) and `notes` (stdio, opaque tokens checked by introspection,
 * one process per subject). The gateway's log lines are kept in memory.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevIdp, resourceUrls, type DevIdp } from '@mcp-iam/dev-idp';
import { createGatewayLogger, startGateway, type RunningGateway } from '@mcp-iam/gateway';
import { startCrmUpstream, type CrmUpstream } from './crm-upstream.js';
import { freePort } from './ports.js';

/** Compiled stdio notes server. */
export const NOTES_SERVER = fileURLToPath(new URL('../fixtures/notes-stdio.js', import.meta.url));

/** The environment the configuration's `${…}` references are resolved from. */
export const GATEWAY_ENV = { GATEWAY_SECRET: 'gateway-secret' } as const;

/** Where the gateway reaches the IdP; defaults to the IdP itself. */
export interface IdpEndpoints {
  readonly jwksUri?: string;
  readonly introspection: string;
  readonly tokenEndpoint?: string;
}

/** Inputs of {@link gatewayYaml}. */
export interface GatewayYamlInput {
  readonly port: number;
  readonly issuer: string;
  readonly crmUpstreamUrl: string;
  readonly auditDir: string;
  readonly endpoints: IdpEndpoints;
  /** Literal introspection secret; default the `${GATEWAY_SECRET}` reference. */
  readonly introspectionSecret?: string;
  /** Literal secret of the gateway's own client; default the `${GATEWAY_SECRET}` reference. */
  readonly clientSecret?: string;
  /** Extra top-level YAML appended at the end (for deliberately broken files). */
  readonly extra?: string;
}

/** The gateway configuration of the stack, as YAML. */
export function gatewayYaml(input: GatewayYamlInput): string {
  const base = `http://127.0.0.1:${input.port}`;
  const secret = input.introspectionSecret ?? '${GATEWAY_SECRET}';
  return `# gateway configuration of an end-to-end stack
listen: { host: 127.0.0.1, port: ${input.port} }
public_url: ${base}
log_level: debug
issuers:
  - issuer: ${input.issuer}
    algorithms: [ES256, RS256]
    allow_insecure_loopback_http: true
${input.endpoints.jwksUri ? `    jwks_uri: ${input.endpoints.jwksUri}\n` : ''}    introspection:
      endpoint: ${input.endpoints.introspection}
      client_id: mcp-gateway
      client_secret: "${secret}"
client:
  client_id: mcp-gateway
  client_secret: "${input.clientSecret ?? '${GATEWAY_SECRET}'}"
${input.endpoints.tokenEndpoint ? `  token_endpoint: ${input.endpoints.tokenEndpoint}\n` : ''}routes:
  - name: crm
    path: /crm/mcp
    upstream: { url: ${input.crmUpstreamUrl} }
    downstream: { mode: token-exchange, audience: ${input.crmUpstreamUrl}, scope: crm.read crm.write }
    limits: { upstream_timeout_ms: 5000 }
    policy:
      default: deny
      methods: { initialize: {}, tools/list: { scopes: [crm.read] } }
      tools:
        search_contacts: { scopes: [crm.read] }
        update_contact: { scopes: [crm.write], acr: [mfa], max_age: 300 }
  - name: direct
    path: /direct/mcp
    upstream: { url: ${input.crmUpstreamUrl} }
    downstream: { mode: none }
    limits: { upstream_timeout_ms: 5000 }
    policy:
      default: deny
      methods: { initialize: {}, tools/list: { scopes: [crm.read] } }
      tools:
        search_contacts: { scopes: [crm.read] }
  - name: notes
    path: /notes/mcp
    upstream:
      command: ${process.execPath}
      args: [${NOTES_SERVER}]
      isolation: per-subject
    downstream: { mode: none }
    limits: { upstream_timeout_ms: 10000 }
    policy:
      default: deny
      methods: { initialize: {}, tools/list: { scopes: [notes.read] } }
      tools:
        list_notes: { scopes: [notes.read] }
        add_note: { scopes: [notes.write] }
        environment: { scopes: [notes.read] }
audit: { sink: spool, path: ${input.auditDir}, mode: strict }
${input.extra ?? ''}`;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  /**
   * Where the gateway should reach the IdP, given the IdP's issuer (e.g. a fault-injecting proxy
   * in front of it). Default: the IdP directly, JWKS by discovery.
   */
  readonly endpoints?: (issuer: string) => IdpEndpoints | Promise<IdpEndpoints>;
  /** Do not start the gateway (only write its configuration). */
  readonly withoutGateway?: boolean;
}

/** A running stack. */
export interface Stack {
  readonly idp: DevIdp;
  readonly crm: CrmUpstream;
  /** Undefined with `withoutGateway`. */
  readonly gateway: RunningGateway | undefined;
  /** `http://127.0.0.1:<gateway port>`. */
  readonly base: string;
  readonly port: number;
  /** Resource URLs of the gateway routes. */
  readonly routes: { readonly crm: string; readonly direct: string; readonly notes: string };
  readonly dir: string;
  readonly configFile: string;
  readonly auditDir: string;
  readonly endpoints: IdpEndpoints;
  /** What the configuration file was written from (to write variants of it). */
  readonly yamlInput: GatewayYamlInput;
  /** The gateway's log lines so far. */
  readonly logs: string[];
  close(): Promise<void>;
}

/** Starts the IdP, the crm upstream and (unless told otherwise) the gateway. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const routes = {
    crm: `${base}/crm/mcp`,
    direct: `${base}/direct/mcp`,
    notes: `${base}/notes/mcp`,
  };
  const dir = await mkdtemp(join(tmpdir(), 'mcp-iam-e2e-'));
  const crm = await startCrmUpstream();
  const urls = resourceUrls({
    crm: crm.url,
    'gateway-crm': routes.crm,
    'gateway-notes': routes.notes,
    'gateway-insights': `${base}/insights/mcp`,
  });
  const idp = await startDevIdp({
    port: 0,
    fixtures: {
      ...urls,
      resources: {
        ...urls.resources,
        'gateway-direct': {
          url: routes.direct,
          scopes: ['crm.read'],
          format: 'jwt',
          alg: 'ES256',
          ttl_seconds: 600,
        },
      },
    },
  });
  const endpoints = options.endpoints
    ? await options.endpoints(idp.issuer)
    : { introspection: `${idp.issuer}/token/introspection` };
  const auditDir = join(dir, 'audit');
  const configFile = join(dir, 'gateway.yaml');
  const yamlInput: GatewayYamlInput = {
    port,
    issuer: idp.issuer,
    crmUpstreamUrl: crm.url,
    auditDir,
    endpoints,
  };
  await writeFile(configFile, gatewayYaml(yamlInput));
  const logs: string[] = [];
  let gateway: RunningGateway | undefined;
  try {
    if (!options.withoutGateway) {
      gateway = await startGateway({
        configFile,
        env: GATEWAY_ENV,
        logger: createGatewayLogger({
          level: 'trace',
          destination: { write: (line: string) => void logs.push(line) },
        }),
      });
    }
  } catch (error) {
    await Promise.allSettled([idp.close(), crm.close()]);
    throw error;
  }
  return {
    idp,
    crm,
    gateway,
    base,
    port,
    routes,
    dir,
    configFile,
    auditDir,
    endpoints,
    yamlInput,
    logs,
    async close() {
      await gateway?.close();
      await Promise.allSettled([idp.close(), crm.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
