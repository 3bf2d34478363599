/**
 * Rules of the configuration that a schema cannot express: URL shapes, unique and safe route paths,
 * issuer references, upstream kinds and the combinations of downstream and audit settings.
 */
import type { GatewayConfig } from './schema.js';

/** A rule violation at a key path of the parsed configuration. */
export interface ValidationProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** Paths the gateway serves itself; a route may not take them. */
export const RESERVED_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

function httpUrlProblem(value: string, allowPath = true): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'expected an http(s) URL';
  if (url.username || url.password) return 'a URL must not contain credentials';
  if (url.search || value.includes('?')) return 'a URL must not have a query';
  if (url.hash || value.includes('#')) return 'a URL must not have a fragment';
  if (!allowPath && url.pathname !== '/') return 'expected an origin (scheme://host[:port])';
  return undefined;
}

function routePathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must start with /';
  if (path.length > 1 && path.endsWith('/')) return 'must not end with /';
  if (path.includes('//')) return 'must not contain //';
  if (/[?#;%\\\s]/.test(path)) return 'must not contain ?, #, ;, %, \\ or whitespace';
  if (path.split('/').some((s) => s === '..' || s === '.')) return 'must not contain dot segments';
  if (path.startsWith('/.well-known')) return 'must not be under /.well-known';
  if ((RESERVED_PATHS as readonly string[]).includes(path)) return 'is reserved by the gateway';
  return undefined;
}

/**
 * Checks the cross-field rules of a schema-valid configuration and returns every problem found
 * (empty when the configuration is acceptable).
 */
export function validateConfig(config: GatewayConfig): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const add = (path: (string | number)[], message: string): void => {
    problems.push({ path, message });
  };

  const publicUrl = httpUrlProblem(config.public_url);
  if (publicUrl) add(['public_url'], publicUrl);

  config.allowed_origins?.forEach((origin, i) => {
    const p = httpUrlProblem(origin, false) ?? (origin.endsWith('/') ? 'no trailing /' : undefined);
    if (p) add(['allowed_origins', i], p);
  });
  config.allowed_hosts?.forEach((host, i) => {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(host))
      add(['allowed_hosts', i], 'expected host or host:port');
  });

  const issuerNames = new Set<string>();
  config.issuers.forEach((issuer, i) => {
    if (issuerNames.has(issuer.issuer)) add(['issuers', i, 'issuer'], 'duplicate issuer');
    issuerNames.add(issuer.issuer);
    if (issuer.jwks_uri) {
      const p = httpUrlProblem(issuer.jwks_uri);
      if (p) add(['issuers', i, 'jwks_uri'], p);
    }
    if (issuer.introspection) {
      const p = httpUrlProblem(issuer.introspection.endpoint);
      if (p) add(['issuers', i, 'introspection', 'endpoint'], p);
    }
  });
  if (config.client?.token_endpoint) {
    const p = httpUrlProblem(config.client.token_endpoint);
    if (p) add(['client', 'token_endpoint'], p);
  }

  const paths = new Map<string, number>();
  const names = new Map<string, number>();
  config.routes.forEach((route, i) => {
    const pathProblem = routePathProblem(route.path);
    if (pathProblem) add(['routes', i, 'path'], pathProblem);
    const seen = paths.get(route.path);
    if (seen !== undefined)
      add(['routes', i, 'path'], `duplicate route path (also routes[${seen}])`);
    else paths.set(route.path, i);
    const seenName = names.get(route.name);
    if (seenName !== undefined)
      add(['routes', i, 'name'], `duplicate route name (also routes[${seenName}])`);
    else names.set(route.name, i);

    const up = route.upstream;
    const isHttp = up.url !== undefined;
    if (isHttp === (up.command !== undefined))
      add(['routes', i, 'upstream'], 'expected exactly one of url or command');
    if (isHttp) {
      const p = httpUrlProblem(up.url as string);
      if (p) add(['routes', i, 'upstream', 'url'], p);
      for (const key of [
        'args',
        'env',
        'cwd',
        'isolation',
        'idle_timeout_s',
        'max_processes',
      ] as const) {
        if (up[key] !== undefined)
          add(['routes', i, 'upstream', key], 'only allowed with a stdio command');
      }
    } else if (up.x_forwarded !== undefined) {
      add(['routes', i, 'upstream', 'x_forwarded'], 'only allowed with an HTTP url');
    }

    route.issuers?.forEach((iss, j) => {
      if (!issuerNames.has(iss)) add(['routes', i, 'issuers', j], `unknown issuer "${iss}"`);
    });
    if (route.issuers?.length === 0) {
      add(['routes', i, 'issuers'], 'must name at least one issuer (leave it out to accept all)');
    }

    const down = route.downstream;
    if (down?.mode === 'token-exchange') {
      if (!config.client)
        add(['routes', i, 'downstream', 'mode'], 'token-exchange requires client');
      if (!down.audience) add(['routes', i, 'downstream'], 'token-exchange requires audience');
      if (!isHttp)
        add(['routes', i, 'downstream', 'mode'], 'a stdio upstream cannot receive a token');
    } else if (down && (down.audience !== undefined || down.scope !== undefined)) {
      add(['routes', i, 'downstream'], 'audience and scope need mode token-exchange');
    }
  });

  const audit = config.audit;
  if ((audit.sink === 'spool' || audit.sink === 'sqlite') && !audit.path)
    add(['audit', 'path'], `sink ${audit.sink} requires path`);
  if (audit.sink === 'postgres' && !audit.url) add(['audit', 'url'], 'sink postgres requires url');
  return problems;
}
