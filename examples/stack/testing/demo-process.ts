/**
 * Test support: runs `node examples/dist/stack/start.js` as a user or a supervisor would (a child
 * process of the test, on free ports, with its own data directory), reads what it prints, and
 * finds the processes it started, so tests can signal it and check that nothing outlives it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertPortFree, ephemeralPorts, REPO_ROOT, type StackPorts } from '../stack.js';

/** The compiled `npm start` entry. */
export const START_SCRIPT = fileURLToPath(new URL('../start.js', import.meta.url));

/** A running `start.js`. */
export interface DemoProcess {
  readonly child: ChildProcess;
  readonly ports: StackPorts;
  /** Its data directory (removed by {@link DemoProcess.cleanup}). */
  readonly dataDir: string;
  /** Everything it printed on stdout so far. */
  stdout(): string;
  /** Everything it printed on stderr so far. */
  stderr(): string;
  /** Resolves once stdout contains `text`; rejects when the process exits first or after `timeoutMs`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves with its exit code (or the signal that ended it) once it has exited. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills it if it still runs and removes its data directory. */
  cleanup(): Promise<void>;
}

/** Options of {@link startDemoProcess}. */
export interface DemoProcessOptions {
  /** Further arguments of start.js. */
  readonly args?: readonly string[];
  /**
   * Run it under `sh -c`, as `npm start` does: the child is then the shell, and start.js its
   * child.
   */
  readonly underShell?: boolean;
}

/** Starts `start.js` on free ports with a fresh data directory. */
export async function startDemoProcess(options: DemoProcessOptions = {}): Promise<DemoProcess> {
  const ports = await ephemeralPorts();
  const dataDir = mkdtempSync(join(tmpdir(), 'mcp-iam-demo-data-'));
  const command = [
    process.execPath,
    START_SCRIPT,
    '--idp-port',
    String(ports.idp),
    '--crm-port',
    String(ports.crm),
    '--insights-port',
    String(ports.insights),
    '--gateway-port',
    String(ports.gateway),
    '--data-dir',
    dataDir,
    ...(options.args ?? []),
  ];
  // `; exit $?` keeps the shell from replacing itself with node (as npm's shell does not either).
  const [file, ...args] = options.underShell
    ? ['sh', '-c', '"$@"; exit $?', 'sh', ...command]
    : command;
  const child = spawn(file as string, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    child,
    ports,
    dataDir,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    async waitFor(text, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!out.includes(text)) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(
            `start.js exited before printing ${JSON.stringify(text)}:\n${out}\n${err}`,
          );
        }
        if (Date.now() > deadline) {
          throw new Error(
            `start.js did not print ${JSON.stringify(text)} in time:\n${out}\n${err}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exit;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Parent process id of `pid`, from /proc (undefined when it is gone). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces; ppid follows it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

/** Whether process listings from /proc are available here (Linux). */
export const CAN_LIST_PROCESSES = existsSync('/proc/self/stat');

/** Every process descended from `pid` (children, their children …), from /proc. */
export function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(Number(entry));
    if (parent !== undefined) parents.set(Number(entry), parent);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift() as number;
    for (const [child, parent] of parents) {
      if (parent === current) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** Whether process `pid` still exists (a zombie counts as gone: it has exited). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits up to `timeoutMs` for every process of `pids` to be gone; returns those still running. */
export async function survivors(pids: readonly number[], timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let running = pids.filter(isRunning);
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    running = running.filter(isRunning);
  }
  return running;
}

/** The ports of `ports` that cannot be listened on (still held by some process). */
export async function busyPorts(ports: StackPorts): Promise<number[]> {
  const busy: number[] = [];
  for (const [name, port] of Object.entries(ports)) {
    await assertPortFree(port, name).catch(() => busy.push(port));
  }
  return busy;
}

/** The command line of process `pid`, for failure messages. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '(gone)';
  }
}
