/**
 * Child processes that must not outlive the demo process. Each one is started with an IPC
 * channel and {@link EXIT_WITH_PARENT} preloaded, so it stops by itself when the demo process
 * disappears without a word (SIGKILL); while the demo process can still run code, it stops them
 * itself: {@link OwnedChildren.stopAll} asks each with SIGTERM and waits, and when the process
 * exits for any reason (an uncaught error included) the survivors get SIGTERM on the way out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The compiled preload module that makes a child stop when its parent is gone. */
export const EXIT_WITH_PARENT = fileURLToPath(new URL('exit-with-parent.js', import.meta.url));

/** How long a child may take to stop after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 5000;

/** Options of {@link OwnedChildren.spawnNode}. */
export interface OwnedChildOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Stops `child`: SIGTERM, then SIGKILL after {@link STOP_GRACE_MS}; resolves once it exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (!running(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** The Node child processes of this process, stopped with it. */
export class OwnedChildren {
  readonly #children = new Set<ChildProcess>();
  readonly #onExit = (): void => this.killAllNow();

  constructor() {
    process.on('exit', this.#onExit);
  }

  /**
   * Runs `node <script> …args` as an owned child: stdout and stderr piped to this process,
   * stdin closed, an IPC channel that only tells the child when this process is gone.
   */
  spawnNode(script: string, args: readonly string[], options: OwnedChildOptions): ChildProcess {
    const child = spawn(
      process.execPath,
      ['--import', pathToFileURL(EXIT_WITH_PARENT).href, script, ...args],
      { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
    );
    // The channel is only there to close when this process ends; it must not keep it alive.
    child.channel?.unref();
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** Stops every owned child that still runs (SIGTERM, then SIGKILL) and waits for them. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#children].map((child) => stopChild(child)));
  }

  /** Sends SIGTERM to every owned child that still runs, without waiting (for exit handlers). */
  killAllNow(): void {
    for (const child of this.#children) if (running(child)) child.kill('SIGTERM');
  }

  /** Stops watching this process's exit (the children still run are left to their preload). */
  dispose(): void {
    process.off('exit', this.#onExit);
  }
}
