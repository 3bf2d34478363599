/**
 * Child processes of the benchmark: start servers (optionally pinned to CPUs with taskset), wait
 * until they listen, read their CPU time from /proc, and stop every one of them at the end, also
 * on error or Ctrl-C. Each child leads its own process group so its workers stop with it.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { createInterface } from 'node:readline';
import { delimiter, join } from 'node:path';

/** A child process the harness started. */
export interface ManagedProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Where its stdout/stderr go. */
  readonly logPath: string;
  /** Whether it has exited. */
  exited(): boolean;
  /** Stops it and its process group: SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>;
}

/** Options of {@link spawnManaged}. */
export interface SpawnOptions {
  /** File that receives stdout and stderr (stdout is piped instead when `readPort` is set). */
  readonly logPath: string;
  /** CPU list for `taskset -c` (e.g. "0"); null to leave the process unpinned. */
  readonly cpus: string | null;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Wait for a first stdout line `{"port":N}` and return N. */
  readonly readPort?: boolean;
  /** How long `stop()` waits after SIGTERM before SIGKILL, ms (default 3 000). */
  readonly stopGraceMs?: number;
}

const running = new Set<ManagedProcess>();

/** Finds an executable on PATH (or an absolute path); null when absent. */
export function findExecutable(name: string): string | null {
  if (name.includes('/')) return existsSync(name) ? name : null;
  const dirs = [...(process.env.PATH ?? '/usr/bin:/bin').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return null;
}

/**
 * Starts `command` in its own process group, pinned with taskset when `cpus` is given, and
 * registers it for {@link stopAllProcesses}.
 */
export async function spawnManaged(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): Promise<{ process: ManagedProcess; port: number | null }> {
  const taskset = options.cpus !== null ? findExecutable('taskset') : null;
  const file = taskset ?? command;
  const argv = taskset ? ['-c', options.cpus as string, command, ...args] : [...args];
  const log = openSync(options.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(file, argv, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', options.readPort ? 'pipe' : log, log],
    });
  } finally {
    closeSync(log);
  }
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  if (child.pid === undefined) throw new Error(`cannot start ${command}`);
  const pid = child.pid;
  const managed: ManagedProcess = {
    pid,
    child,
    logPath: options.logPath,
    exited: () => exited,
    async stop() {
      running.delete(managed);
      if (exited) return;
      signalGroup(pid, 'SIGTERM');
      let graceTimer: NodeJS.Timeout | undefined;
      const timer = new Promise<'timeout'>((resolve) => {
        graceTimer = setTimeout(() => resolve('timeout'), options.stopGraceMs ?? 3000);
      });
      const outcome = await Promise.race([exitPromise.then(() => 'exit' as const), timer]);
      clearTimeout(graceTimer);
      if (outcome === 'timeout') {
        signalGroup(pid, 'SIGKILL');
        await exitPromise;
      }
      // Workers of a group may outlive the leader for a moment (apache, haproxy).
      signalGroup(pid, 'SIGKILL');
    },
  };
  running.add(managed);
  if (!options.readPort) return { process: managed, port: null };

  const stdout = child.stdout;
  if (!stdout) throw new Error('no stdout');
  const lines = createInterface({ input: stdout });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not report a port`)), 15_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const parsed = JSON.parse(line) as { port?: unknown };
      if (typeof parsed.port === 'number') resolve(parsed.port);
      else reject(new Error(`unexpected first line from ${command}: ${line}`));
    });
    void exitPromise.then(() => {
      clearTimeout(timer);
      reject(new Error(`${command} exited early; see ${options.logPath}`));
    });
  });
  lines.on('line', () => undefined);
  return { process: managed, port };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Stops every process the harness started and has not stopped yet. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** Last-resort synchronous kill for `process.on('exit')`: SIGKILL to every remaining group. */
export function killAllProcessesNow(): void {
  for (const p of running) if (!p.exited()) signalGroup(p.pid, 'SIGKILL');
  running.clear();
}

/** A free TCP port on 127.0.0.1 (closed again before returning; good enough on loopback). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until 127.0.0.1:`port` accepts connections; fails after `timeoutMs` or if `proc` exits. */
export async function waitForPort(
  port: number,
  proc: ManagedProcess,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited()) throw new Error(`process exited before listening; see ${proc.logPath}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms; see ${proc.logPath}`,
  );
}

/** `pids` and all their descendants, from the ppid field of /proc/<pid>/stat. */
export function withDescendants(pids: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const out = new Set<number>();
  const queue = [...pids];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    if (out.has(pid)) continue;
    out.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...out];
}

interface ProcStat {
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? { ppid, ticks } : null;
}

/** CPU time (user + system) of each pid, in clock ticks; missing processes are left out. */
export function cpuTicks(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat) out.set(pid, stat.ticks);
  }
  return out;
}

let clockTicks: number | null = null;

/** Clock ticks per second (`getconf CLK_TCK`, usually 100). */
export function clockTicksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}
