/**
 * RFC 9728 protected resource metadata: the document, the well-known URLs it is served at
 * (path-inserted, and the origin root when one resource lives on the origin), and the CORS
 * answers browsers need to read it.
 */
import { McpIamError } from '../errors.js';
import type { HttpAnswer } from './answers.js';

/** Inputs of the metadata document. */
export interface ProtectedResourceMetadataOptions {
  /** Canonical resource URL (absolute, no fragment), e.g. `https://mcp.example.com/mcp`. */
  readonly resource: string;
  /** Issuer identifiers of the authorization servers (at least one). */
  readonly authorizationServers: readonly string[];
  /** Scopes to advertise; keep minimal. `offline_access` is refused. Default none. */
  readonly scopesSupported?: readonly string[];
  /** Human-readable name. */
  readonly resourceName?: string;
  /** URL of human-readable documentation. */
  readonly resourceDocumentation?: string;
}

/** The RFC 9728 metadata document. */
export interface ProtectedResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly scopes_supported?: readonly string[];
  readonly bearer_methods_supported: readonly ['header'];
  readonly resource_name?: string;
  readonly resource_documentation?: string;
}

/** Thrown for a metadata configuration that would mislead clients. */
export class MetadataConfigError extends McpIamError<'invalid_metadata_config'> {
  constructor(message: string) {
    super('invalid_metadata_config', message);
    this.name = 'MetadataConfigError';
  }
}

function absoluteHttpUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MetadataConfigError(`${what} is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new MetadataConfigError(`${what} must be an http(s) URL`);
  }
  if (url.hash !== '' || value.includes('#'))
    throw new MetadataConfigError(`${what} must not have a fragment`);
  return url;
}

/**
 * Builds the metadata document. `resource` is returned exactly as configured (clients compare it
 * byte for byte); `bearer_methods_supported` is always `["header"]`.
 *
 * @example
 * ```ts
 * protectedResourceMetadata({ resource: 'https://mcp.example.com/mcp',
 *   authorizationServers: ['https://idp.example.com'], scopesSupported: ['crm.read'] });
 * ```
 */
export function protectedResourceMetadata(
  options: ProtectedResourceMetadataOptions,
): ProtectedResourceMetadata {
  absoluteHttpUrl(options.resource, 'resource');
  if (options.authorizationServers.length === 0) {
    throw new MetadataConfigError('authorizationServers must not be empty');
  }
  for (const as of options.authorizationServers) absoluteHttpUrl(as, 'authorization server');
  const scopes = options.scopesSupported ?? [];
  if (scopes.includes('offline_access')) {
    throw new MetadataConfigError('scopesSupported must not advertise offline_access');
  }
  if (options.resourceDocumentation !== undefined) {
    absoluteHttpUrl(options.resourceDocumentation, 'resourceDocumentation');
  }
  return Object.freeze({
    resource: options.resource,
    authorization_servers: Object.freeze([...options.authorizationServers]),
    ...(scopes.length > 0 ? { scopes_supported: Object.freeze([...scopes]) } : {}),
    bearer_methods_supported: Object.freeze(['header'] as const),
    ...(options.resourceName !== undefined ? { resource_name: options.resourceName } : {}),
    ...(options.resourceDocumentation !== undefined
      ? { resource_documentation: options.resourceDocumentation }
      : {}),
  });
}

/** Well-known path prefix of RFC 9728. */
export const METADATA_WELL_KNOWN = '/.well-known/oauth-protected-resource';

/**
 * The path-inserted metadata path of a resource: `https://h/mcp` → `/.well-known/oauth-protected-resource/mcp`;
 * a resource at the origin root maps to the well-known path itself.
 */
export function metadataPath(resource: string): string {
  const url = absoluteHttpUrl(resource, 'resource');
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${METADATA_WELL_KNOWN}${path}${url.search}`;
}

/** The absolute metadata URL named in every challenge (`resource_metadata`). */
export function metadataUrl(resource: string): string {
  const url = absoluteHttpUrl(resource, 'resource');
  return `${url.origin}${metadataPath(resource)}`;
}

/** CORS headers of the metadata answers. */
export const METADATA_CORS_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
  'access-control-allow-headers': 'MCP-Protocol-Version, Content-Type, Authorization',
  'access-control-max-age': '86400',
});

/**
 * Answers a metadata request: GET → 200 with the document, OPTIONS → 204 preflight, other
 * methods → 405. Both carry the CORS headers.
 */
export function metadataAnswer(method: string, document: ProtectedResourceMetadata): HttpAnswer {
  const m = method.toUpperCase();
  if (m === 'OPTIONS') return { status: 204, headers: { ...METADATA_CORS_HEADERS }, body: '' };
  if (m === 'GET' || m === 'HEAD') {
    return {
      status: 200,
      headers: {
        ...METADATA_CORS_HEADERS,
        'content-type': 'application/json',
        'cache-control': 'public, max-age=3600',
      },
      body: JSON.stringify(document),
    };
  }
  return { status: 405, headers: { ...METADATA_CORS_HEADERS, allow: 'GET, OPTIONS' }, body: '' };
}
