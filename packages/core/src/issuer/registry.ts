/**
 * The set of trusted issuers, keyed by exact `iss`. Each issuer gets its own key set and (when
 * configured) its own introspection client, so one issuer's keys can never validate another's
 * tokens and an unknown `iss` never leads to any outbound request.
 */
import { TokenIntrospector } from '../token/introspection.js';
import { IssuerKeySet } from './keyset.js';
import { resolveIssuer, type ResolvedIssuer, type TrustedIssuer } from './options.js';

/** One configured issuer with its runtime parts. */
export interface IssuerRuntime {
  readonly config: ResolvedIssuer;
  /** Present unless the issuer is opaque-only. */
  readonly keySet?: IssuerKeySet;
  /** Present when introspection is configured. */
  readonly introspector?: TokenIntrospector;
}

/**
 * Registry of trusted issuers. Throws at construction on invalid settings or a repeated issuer.
 *
 * @example
 * ```ts
 * const registry = new IssuerRegistry([{ issuer: 'https://idp.example.com' }]);
 * registry.get('https://idp.example.com/'); // undefined: exact match only
 * ```
 */
export class IssuerRegistry {
  readonly #issuers = new Map<string, IssuerRuntime>();

  constructor(issuers: readonly TrustedIssuer[], options: { now?: () => number } = {}) {
    if (!Array.isArray(issuers) || issuers.length === 0)
      throw new Error('at least one trusted issuer is required');
    for (const options_ of issuers) {
      const config = resolveIssuer(options_);
      if (this.#issuers.has(config.issuer))
        throw new Error(`issuer ${config.issuer} is configured twice`);
      this.#issuers.set(config.issuer, {
        config,
        ...(config.format !== 'opaque' ? { keySet: new IssuerKeySet(config, options) } : {}),
        ...(config.introspection ? { introspector: new TokenIntrospector(config, options) } : {}),
      });
    }
  }

  /** The issuer whose identifier equals `iss` exactly, if any. */
  get(iss: string): IssuerRuntime | undefined {
    return this.#issuers.get(iss);
  }

  /** All issuers, in configuration order. */
  list(): IssuerRuntime[] {
    return [...this.#issuers.values()];
  }

  /**
   * The issuer within `subset` (default: all) that introspects opaque tokens, or undefined when
   * none does. Throws a configuration `Error` when more than one could: an opaque token carries no
   * issuer, so the choice must be unambiguous.
   */
  introspectionIssuer(subset?: readonly string[]): IssuerRuntime | undefined {
    const candidates = this.list().filter(
      (r) =>
        r.introspector !== undefined &&
        r.config.format !== 'jwt' &&
        (subset === undefined || subset.includes(r.config.issuer)),
    );
    if (candidates.length > 1) {
      throw new Error(
        `configuration error: ${candidates.length} introspection-enabled issuers (${candidates
          .map((c) => c.config.issuer)
          .join(
            ', ',
          )}) apply to one resource; restrict the resource to one of them with VerifyContext.issuers`,
      );
    }
    return candidates[0];
  }
}
