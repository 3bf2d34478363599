/**
 * @mcp-iam/cli: the `mcp-iam` command line, composing @mcp-iam/gateway, @mcp-iam/audit and
 * @mcp-iam/dev-idp. Public API: run a command line in-process, and the token client behind
 * `mcp-iam token`. Every export is documented where it is defined.
 */
export { runMcpIam } from './run.js';
export { processIo, flushed, type CliIo, type StopSignal, type Write } from './io.js';
export { EXIT_CODES, type ExitCode } from './exit-codes.js';
export { ConfigurationError, UsageError, type CliErrors } from './command.js';
export {
  obtainToken,
  writeTokenFile,
  TokenCommandError,
  type TokenRequestOptions,
  type TokenResponse,
} from './token/obtain.js';
