/**
 * Exit codes of every `mcp-iam` command: 0 ok, 1 failure, 2 usage error, 78 configuration error
 * (EX_CONFIG of sysexits.h).
 */

/** The exit codes, by meaning. */
export const EXIT_CODES = {
  /** The command did what it was asked. */
  ok: 0,
  /** The command ran and failed: an unreachable IdP, an unreadable spool, a refused token. */
  failure: 1,
  /** The command line is wrong: an unknown option, a missing or malformed argument. */
  usage: 2,
  /** A configuration file fails to load or validate. */
  configuration: 78,
} as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];
