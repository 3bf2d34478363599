/**
 * Where `mcp-iam` commands write, and how long-running ones (gateway, dev-idp, audit tail
 * --follow) learn that it is time to stop. The process's io writes to its stdout and stderr and
 * stops on SIGINT, SIGTERM or when stdout's reader goes away; tests pass their own.
 */

/** Writes text to one of the command's outputs. */
export type Write = (text: string) => void;

/** A stop signal and the function that removes its listeners. */
export interface StopSignal {
  readonly signal: AbortSignal;
  dispose(): void;
}

/** The outputs and the stop signal of a command. */
export interface CliIo {
  readonly stdout: Write;
  readonly stderr: Write;
  /**
   * Starts listening for the end of a long-running command. Called only by commands that run
   * until stopped, so a short command keeps the default reaction to Ctrl-C.
   */
  stopSignal(): StopSignal;
}

/**
 * The io of the `mcp-iam` process. When stdout fails, as it does with EPIPE at the first write
 * after its reader went away (`mcp-iam audit tail --follow | head -1`), output stops and
 * long-running commands end, instead of the process dying of an unhandled stream error.
 */
export function processIo(): CliIo {
  const outputClosed = new AbortController();
  process.stdout.on('error', () => outputClosed.abort());
  return {
    stdout: (text) => {
      if (!outputClosed.signal.aborted) process.stdout.write(text);
    },
    stderr: (text) => void process.stderr.write(text),
    stopSignal: () => {
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      outputClosed.signal.addEventListener('abort', stop, { once: true });
      return {
        signal: controller.signal,
        dispose: () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          outputClosed.signal.removeEventListener('abort', stop);
        },
      };
    },
  };
}

/**
 * Resolves once everything written to `stream` so far has been handed to the operating system
 * (or the stream failed, as a pipe whose reader is gone does). A process that exits before that
 * loses what is still queued: on a pipe, everything past the first 64 KiB.
 *
 * @example
 * ```ts
 * await flushed(process.stdout);
 * process.exit(code);
 * ```
 */
export function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    stream.write('', () => resolve());
  });
}

/** Resolves when `signal` is aborted (at once when it already is). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}
