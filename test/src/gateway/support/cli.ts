/**
 * The `mcp-iam` command line the end-to-end tests start as a child process: the compiled entry of
 * @mcp-iam/cli, run with `node` as the installed bin would.
 */
import { fileURLToPath } from 'node:url';

/** Path of @mcp-iam/cli's dist/main.js. */
export const MCP_IAM_CLI = fileURLToPath(new URL('main.js', import.meta.resolve('@mcp-iam/cli')));
