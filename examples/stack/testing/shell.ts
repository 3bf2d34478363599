/**
 * Test support: runs a printed command line the way a person pastes it into a POSIX shell at the
 * repository root, and plays the person at the browser for `mcp-iam token` sign-ins.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { signInAt, type SignInCredentials } from '@mcp-iam/dev-idp';
import { REPO_ROOT } from '../stack.js';

/** How a command line ended. */
export interface ShellRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What to do while the command runs. */
export interface ShellOptions {
  /** Called with stderr so far, each time more arrives. */
  readonly onStderr?: (stderr: string) => void;
  /** Longest run (default 60 s); the command is killed then. */
  readonly timeoutMs?: number;
}

/** Runs `command` with `sh -c` at the repository root and resolves once it has exited. */
export async function runInShell(command: string, options: ShellOptions = {}): Promise<ShellRun> {
  const child = spawn('sh', ['-c', command], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DISPLAY: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    options.onStderr?.(stderr);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/**
 * Runs a printed `mcp-iam token` sign-in: when it prints the authorization URL, signs in there as
 * `credentials` and loads the callback it redirects to, as the browser would.
 */
export async function runSignIn(
  command: string,
  credentials: SignInCredentials,
): Promise<ShellRun> {
  let browser: Promise<void> | undefined;
  const run = await runInShell(command, {
    onStderr: (stderr) => {
      const url = /Open this URL to sign in:\n\s+(\S+)/.exec(stderr)?.[1];
      if (url === undefined || browser !== undefined) return;
      browser = signInAt(url, credentials).then(async (callback) => {
        const response = await fetch(callback);
        await response.text();
      });
    },
  });
  await browser;
  return run;
}
