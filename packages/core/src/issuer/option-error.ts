/**
 * A trusted-issuer setting that cannot be used, described in parts: which option is wrong, what is
 * wrong with it, and which option to set instead. The message names core's `TrustedIssuer`
 * options (`allowInsecureLoopbackHttp`, `introspection.clientSecret`); a tool that reads its
 * settings from another format (the gateway's YAML) renders the same parts with its own key names
 * through {@link IssuerOptionError.describe}.
 */
import { McpIamError } from '../errors.js';

/** The setting that fixes a problem: `set <option>: <value> <effect>`. */
export interface OptionRemedy {
  /** The `TrustedIssuer` option to set, e.g. `allowInsecureLoopbackHttp`. */
  readonly option: string;
  /** The value to set it to, as written in a configuration, e.g. `true`. */
  readonly value: string;
  /** What setting it does, e.g. `to allow loopback http`. */
  readonly effect: string;
}

/** The parts of an {@link IssuerOptionError}. */
export interface IssuerOptionProblem {
  /** The issuer whose settings are wrong; absent when the check ran before an issuer was known. */
  readonly issuer?: string;
  /**
   * What is wrong: a `TrustedIssuer` option (dot path for nested options, e.g.
   * `introspection.endpoint`) or, for values read from an IdP, a name such as
   * `discovered jwks_uri`.
   */
  readonly option: string;
  /** What is wrong with it, to follow the option's name: `uses http`, `must not be empty`. */
  readonly problem: string;
  /** The setting that fixes it, when one does. */
  readonly remedy?: OptionRemedy;
}

/**
 * A `TrustedIssuer` option (or a URL an IdP published for it) that cannot be used. Thrown by
 * `resolveIssuer` and `assertFetchableUrl`; the message names core's option names.
 *
 * @example
 * ```ts
 * try { resolveIssuer({ issuer: 'http://127.0.0.1:4000' }) } catch (e) {
 *   if (e instanceof IssuerOptionError) e.describe((option) => `issuers[0].${snake(option)}`);
 *   // 'issuers[0].issuer uses http; set issuers[0].allow_insecure_loopback_http: true to allow loopback http'
 * }
 * ```
 */
export class IssuerOptionError extends McpIamError<'invalid_issuer_option'> {
  readonly issuer: string | undefined;
  readonly option: string;
  readonly problem: string;
  readonly remedy: OptionRemedy | undefined;

  constructor(parts: IssuerOptionProblem, options?: { cause?: unknown }) {
    const prefix = parts.issuer !== undefined ? `issuer ${parts.issuer}: ` : '';
    super('invalid_issuer_option', `${prefix}${describeParts(parts, (o) => o)}`, options);
    this.issuer = parts.issuer;
    this.option = parts.option;
    this.problem = parts.problem;
    this.remedy = parts.remedy;
  }

  /** The same problem for `issuer` (the message gains the `issuer …:` prefix). */
  forIssuer(issuer: string): IssuerOptionError {
    return new IssuerOptionError(
      { issuer, option: this.option, problem: this.problem, ...this.#remedyPart() },
      { cause: this.cause },
    );
  }

  /**
   * The problem in one sentence, naming options with `nameOf` (core's option name in, the name
   * the reader knows out). Without the `issuer …:` prefix.
   */
  describe(nameOf: (option: string) => string): string {
    return describeParts(this, nameOf);
  }

  /** What is wrong and how to fix it, without the option's own name (for a message placed at that option). */
  describeProblem(nameOf: (option: string) => string): string {
    return `${this.problem}${remedyText(this.remedy, nameOf)}`;
  }

  #remedyPart(): { remedy?: OptionRemedy } {
    return this.remedy ? { remedy: this.remedy } : {};
  }
}

function remedyText(remedy: OptionRemedy | undefined, nameOf: (option: string) => string): string {
  return remedy ? `; set ${nameOf(remedy.option)}: ${remedy.value} ${remedy.effect}` : '';
}

function describeParts(parts: IssuerOptionProblem, nameOf: (option: string) => string): string {
  return `${nameOf(parts.option)} ${parts.problem}${remedyText(parts.remedy, nameOf)}`;
}
