/**
 * The gateway configuration contract: a zod schema of the YAML file (docs/gateway.md explains every
 * key). Objects are strict, so an unknown or misspelt key is an error, never silently ignored.
 * Cross-field rules (unique route paths, issuer references, upstream kinds) live in `validateConfig`.
 */
import { z } from 'zod';
import { ASYMMETRIC_ALGORITHMS as VERIFIER_ALGORITHMS } from '@mcp-iam/core';

/**
 * JWS algorithms an issuer may use: the verifier's list plus `Ed25519` as a name for EdDSA.
 * Asymmetric only: `HS*` and `none` are never accepted.
 */
export const ASYMMETRIC_ALGORITHMS = [...VERIFIER_ALGORITHMS, 'Ed25519'] as const;

/** Audit durability modes: `strict` refuses to answer without a stored record. */
export const AUDIT_MODES = ['strict', 'buffered', 'best-effort'] as const;

/** Log levels accepted by `log_level`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const nonEmpty = z.string().min(1);
const stringList = z.array(nonEmpty);
/** RFC 6749 scope-token: printable ASCII without space, `"` or `\\` (it goes into challenges). */
const scopeToken = z
  .string()
  .regex(
    /^[\x21\x23-\x5b\x5d-\x7e]+$/,
    'expected a scope token (printable ASCII, no space, quote or backslash)',
  );
const scopeList = z.array(scopeToken);

/** Request limits; every field has a default applied by `resolveLimits`. */
export const limitsSchema = z
  .strictObject({
    max_body_bytes: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Largest accepted request body in bytes (default 1048576 = 1 MiB); larger → 413.'),
    max_token_bytes: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Largest accepted bearer token in bytes (default 8192).'),
    upstream_timeout_ms: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'Time allowed to connect to the upstream and receive its response headers (default 30000); then 504.',
      ),
  })
  .describe('Request size and time limits.');

/** One requirement an operation places on the caller; every listed condition must hold. */
export const requirementSchema = z
  .strictObject({
    scopes: scopeList.optional().describe('Scopes the token must carry (all of them).'),
    acr: scopeList
      .optional()
      .describe('Accepted authentication context classes (one of them); else step-up (RFC 9470).'),
    max_age: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('Maximum seconds since the user authenticated (auth_time); else step-up.'),
    clients: stringList.optional().describe('OAuth client ids allowed to call (one of them).'),
    actors: stringList
      .optional()
      .describe('Actor subjects allowed to act on behalf of the user (RFC 8693 act).'),
    max_delegation_depth: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('Longest accepted actor chain (0 = no delegation).'),
    claims: z
      .record(
        z.string(),
        z.union([
          z.string(),
          z.number(),
          z.boolean(),
          z.array(z.union([z.string(), z.number(), z.boolean()])),
        ]),
      )
      .optional()
      .describe('Claims that must have the given value (or one of the listed values).'),
  })
  .describe('Requirements for one operation; an empty object allows any authenticated caller.');

const requirementMap = z.record(z.string(), requirementSchema);

/** Per-route policy: requirements per JSON-RPC method, tool, resource and prompt. */
export const policySchema = z
  .strictObject({
    default: z
      .enum(['allow', 'deny'])
      .optional()
      .describe('Decision for operations not listed (default deny).'),
    scope_hierarchy: z
      .record(scopeToken, scopeList)
      .optional()
      .describe('Scopes that imply other scopes, e.g. { crm.admin: [crm.write, crm.read] }.'),
    methods: requirementMap.optional().describe('Requirements per JSON-RPC method name.'),
    tools: requirementMap.optional().describe('Requirements per tool name (tools/call).'),
    resources: requirementMap
      .optional()
      .describe('Requirements per resource URI (resources/read).'),
    prompts: requirementMap.optional().describe('Requirements per prompt name (prompts/get).'),
  })
  .describe('Who may call what on this route.');

/** Where a route's requests go: an HTTP MCP endpoint or a stdio command. */
export const upstreamSchema = z
  .strictObject({
    url: z
      .string()
      .optional()
      .describe('Streamable HTTP MCP endpoint of the upstream (exclusive with command).'),
    command: nonEmpty
      .optional()
      .describe('Executable of a stdio MCP server, started without a shell (exclusive with url).'),
    args: z.array(z.string()).optional().describe('Arguments of the stdio command.'),
    env: z
      .record(z.string(), z.string())
      .optional()
      .describe(
        'Environment of the stdio process; only PATH and HOME are inherited from the gateway.',
      ),
    cwd: nonEmpty.optional().describe('Working directory of the stdio process.'),
    isolation: z
      .enum(['per-subject', 'shared'])
      .optional()
      .describe('stdio: one process per principal subject (default) or one shared process.'),
    idle_timeout_s: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('stdio: stop a process after this many idle seconds (default 300).'),
    max_processes: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('stdio per-subject: most processes alive at once (default 100); then 503.'),
    x_forwarded: z
      .boolean()
      .optional()
      .describe(
        'HTTP: send the gateway’s own X-Forwarded-For/-Proto/-Host to the upstream (default false).',
      ),
  })
  .describe('The MCP server behind this route.');

/** How the gateway authenticates to the upstream on behalf of the caller. */
export const downstreamSchema = z
  .strictObject({
    mode: z
      .enum(['token-exchange', 'none'])
      .describe('token-exchange: RFC 8693 token for the upstream; none: no Authorization header.'),
    audience: nonEmpty
      .optional()
      .describe('token-exchange: audience (and RFC 8707 resource) of the upstream token.'),
    scope: z.string().optional().describe('token-exchange: space-separated scopes to request.'),
  })
  .describe('Credentials sent to the upstream; the caller’s token is never forwarded.');

/** One protected MCP endpoint: `public_url + path` is its resource identifier. */
export const routeSchema = z
  .strictObject({
    name: nonEmpty.describe('Route name used in logs, metrics and audit records.'),
    path: nonEmpty.describe('Path of the MCP endpoint on the gateway, e.g. /crm/mcp.'),
    upstream: upstreamSchema,
    downstream: downstreamSchema.optional(),
    issuers: stringList
      .optional()
      .describe('Issuers (by `issuer` string) accepted on this route; default all.'),
    audiences: stringList
      .optional()
      .describe('Accepted token audiences; default the resource URL public_url + path.'),
    limits: limitsSchema.optional(),
    list_filter: z
      .enum(['reachable', 'strict'])
      .optional()
      .describe(
        'reachable (default): lists show what the caller may call now or after a step-up or a token with more scopes; strict: only what it may call now.',
      ),
    policy: policySchema.optional(),
  })
  .describe('One protected MCP endpoint.');

/** A trusted token issuer (the IdP). */
export const issuerSchema = z
  .strictObject({
    issuer: nonEmpty.describe('Exact `iss` string of the tokens (no normalisation).'),
    jwks_uri: z
      .string()
      .optional()
      .describe('Key set URL; default from verified discovery metadata.'),
    algorithms: z
      .array(
        z.enum(ASYMMETRIC_ALGORITHMS, {
          error: `expected an asymmetric JWS algorithm (${ASYMMETRIC_ALGORITHMS.join(', ')})`,
        }),
      )
      .min(1)
      .optional()
      .describe('Accepted JWS algorithms; asymmetric only.'),
    token_types: stringList.optional().describe('Accepted JWT `typ` values (default at+jwt).'),
    scope_claim: nonEmpty.optional().describe('Claim holding the scopes: scope, scp, roles …'),
    client_id_claim: nonEmpty
      .optional()
      .describe('Claim holding the client id: client_id (default), azp, cid …'),
    format: z
      .enum(['jwt', 'opaque', 'both'])
      .optional()
      .describe(
        'Token formats this issuer issues: jwt (default; both when introspection is set), opaque, both.',
      ),
    clock_tolerance_s: z
      .number()
      .int()
      .nonnegative()
      .max(300)
      .optional()
      .describe('Leeway for exp, nbf and iat in seconds (default 30).'),
    max_token_lifetime_s: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Largest accepted exp − iat in seconds (default 86400).'),
    require_jti: z.boolean().optional().describe('Refuse JWTs without jti (default false).'),
    key_refresh_interval_s: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Background refresh interval of the key set, seconds (default 300).'),
    stale_if_error_s: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe(
        'How long the last good keys are served while refreshes fail, seconds (default 600); then 503.',
      ),
    fetch_timeout_ms: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Timeout of each discovery, key set and introspection request, ms (default 5000).'),
    allow_insecure_loopback_http: z
      .boolean()
      .optional()
      .describe(
        'Allow plain http to this issuer when it is on a loopback address (development IdPs; default false: https only).',
      ),
    introspection: z
      .strictObject({
        endpoint: nonEmpty.describe('RFC 7662 introspection endpoint.'),
        client_id: nonEmpty.describe('Client id the gateway authenticates with.'),
        client_secret: z.string().optional().describe('Client secret (use ${ENV}).'),
      })
      .optional()
      .describe('Introspection of opaque tokens.'),
  })
  .describe('A trusted token issuer.');

/** The gateway's own OAuth client at the IdP (used for token exchange). */
export const clientSchema = z
  .strictObject({
    client_id: nonEmpty.describe('The gateway’s client id.'),
    client_secret: z.string().optional().describe('The gateway’s client secret (use ${ENV}).'),
    token_endpoint: z
      .string()
      .optional()
      .describe('Token endpoint; default from the first issuer’s discovery metadata.'),
  })
  .describe('The gateway’s own IdP client for token exchange.');

/** Audit record destination and durability. */
export const auditSchema = z
  .strictObject({
    sink: z
      .enum(['spool', 'sqlite', 'postgres', 'stdout'])
      .describe('Where records go: local spool, SQLite file, PostgreSQL or stdout.'),
    path: nonEmpty.optional().describe('spool directory or SQLite file.'),
    url: nonEmpty.optional().describe('postgres connection string (use ${ENV}).'),
    mode: z
      .enum(AUDIT_MODES)
      .optional()
      .describe('strict (default): no answer without a record; buffered; best-effort.'),
    fingerprint_key: z
      .string()
      .min(16)
      .optional()
      .describe('Secret key of token fingerprints (HMAC); default a random per-process key.'),
  })
  .describe('Audit records, one per request.');

/** Upstream sessions bound to their owner. */
export const sessionsSchema = z
  .strictObject({
    idle_timeout_s: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'A session unused this long is forgotten; its id then gets 404 and the client starts a new session (default 3600).',
      ),
    max_bindings: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'Most sessions remembered; beyond it the least recently used is forgotten (default 100000).',
      ),
  })
  .describe(
    'Each upstream Mcp-Session-Id is bound to the principal that created it; other principals get 404.',
  );

/** The whole gateway configuration file. */
export const gatewayConfigSchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: nonEmpty.optional().describe('Listen address (default 127.0.0.1).'),
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .optional()
          .describe('Listen port (default 8080; 0 = any free port).'),
      })
      .optional()
      .describe('Where the gateway listens.'),
    public_url: nonEmpty.describe(
      'Canonical external base URL; resource identifiers and challenges are built from it.',
    ),
    allowed_hosts: stringList
      .optional()
      .describe('Accepted Host header values; default from public_url and listen.'),
    allowed_origins: stringList
      .optional()
      .describe('Accepted Origin header values; default the origin of public_url.'),
    log_level: z.enum(LOG_LEVELS).optional().describe('Log level (default info).'),
    limits: limitsSchema.optional(),
    issuers: z.array(issuerSchema).min(1).describe('Trusted token issuers.'),
    client: clientSchema.optional(),
    routes: z.array(routeSchema).min(1).describe('Protected MCP endpoints.'),
    sessions: sessionsSchema.optional(),
    audit: auditSchema,
  })
  .describe('mcp-iam gateway configuration.');

/** The configuration as written in the file (after `${ENV}` interpolation). */
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
/** One route of the configuration. */
export type RouteConfig = GatewayConfig['routes'][number];
/** One trusted issuer of the configuration. */
export type IssuerConfig = GatewayConfig['issuers'][number];
/** A route's policy. */
export type PolicyConfig = z.infer<typeof policySchema>;
/** One operation requirement. */
export type RequirementConfig = z.infer<typeof requirementSchema>;
/** A route's upstream. */
export type UpstreamConfig = z.infer<typeof upstreamSchema>;
/** Request limits as written. */
export type LimitsConfig = z.infer<typeof limitsSchema>;

/** Request limits with every default applied. */
export interface ResolvedLimits {
  readonly maxBodyBytes: number;
  readonly maxTokenBytes: number;
  readonly upstreamTimeoutMs: number;
}

/** Default limits: 1 MiB bodies, 8 KiB tokens, 30 s to reach the upstream and get its headers. */
export const DEFAULT_LIMITS: ResolvedLimits = {
  maxBodyBytes: 1024 * 1024,
  maxTokenBytes: 8192,
  upstreamTimeoutMs: 30_000,
};

/**
 * Effective limits of a route: the route's `limits`, else the top-level `limits`, else the default.
 *
 * @example
 * ```ts
 * resolveLimits(config, config.routes[0]).maxBodyBytes // 1048576 unless configured
 * ```
 */
export function resolveLimits(config: GatewayConfig, route?: RouteConfig): ResolvedLimits {
  const top = config.limits ?? {};
  const own = route?.limits ?? {};
  return {
    maxBodyBytes: own.max_body_bytes ?? top.max_body_bytes ?? DEFAULT_LIMITS.maxBodyBytes,
    maxTokenBytes: own.max_token_bytes ?? top.max_token_bytes ?? DEFAULT_LIMITS.maxTokenBytes,
    upstreamTimeoutMs:
      own.upstream_timeout_ms ?? top.upstream_timeout_ms ?? DEFAULT_LIMITS.upstreamTimeoutMs,
  };
}

/**
 * The resource identifier (RFC 8707 / RFC 9728 `resource`) of a route: `public_url` without a
 * trailing slash, followed by the route path.
 */
export function resourceUrl(config: Pick<GatewayConfig, 'public_url'>, route: RouteConfig): string {
  return config.public_url.replace(/\/+$/, '') + route.path;
}
