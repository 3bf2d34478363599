/**
 * The `mcp-iam` command line the end-to-end tests start as a child process: the compiled entry of
 * @mcp-iam/cli, run with `node` as the installed bin would, and a runner that resolves with its
 * exit code and output.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Path of @mcp-iam/cli's dist/main.js. */
export const MCP_IAM_CLI = fileURLToPath(new URL('main.js', import.meta.resolve('@mcp-iam/cli')));

/** How a child `mcp-iam` ended. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `mcp-iam ...args` as a user's shell would (only PATH and `env` in its environment) and
 * resolves once it has exited.
 */
export function runMcpIam(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MCP_IAM_CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
