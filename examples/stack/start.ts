/**
 * `npm start` / `npm run demo`: starts the demo stack, runs the walkthrough once and prints it
 * step by step, prints the audit trail, then (without `--once`) writes the files the printed
 * commands use (see demo-files.ts), prints the URLs and those commands, and keeps serving until
 * SIGINT, SIGTERM or SIGHUP. With `--once` it exits 0 only when every step behaved as expected,
 * and otherwise names the steps that did not.
 *
 *   node examples/dist/stack/start.js [--once] [--ephemeral] [--data-dir DIR]
 *        [--idp-port N] [--crm-port N] [--insights-port N] [--gateway-port N]
 *
 * Ports default to 4000, 5001, 5002 and 8080 (or IDP_PORT, CRM_PORT, INSIGHTS_PORT, GATEWAY_PORT);
 * `--ephemeral` picks free ports instead. The data directory defaults to `data/` at the
 * repository root.
 *
 * A stop signal at any moment (starting, walking through, serving) stops the gateway child and
 * everything else before the process exits: with 0 once serving, with 128 + the signal's number
 * before that. A second signal exits at once; the children still stop (see children.ts). The
 * demo also stops, as for SIGHUP, when the process that started it ends: `npm start` runs it
 * under `sh -c`, and a signal to npm ends npm and that shell but never reaches the demo.
 */
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, writeDemoFiles } from './demo-files.js';
import { DEFAULT_PORTS, ephemeralPorts, startStack, type Stack, type StackPorts } from './stack.js';
import { tryItLines } from './try-it.js';
import { formatStep, runWalkthrough } from './walkthrough.js';

const USAGE = `Usage: node examples/dist/stack/start.js [--once] [--ephemeral] [--data-dir DIR]
       [--idp-port N] [--crm-port N] [--insights-port N] [--gateway-port N]
`;

/** The signals that stop the demo. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** How often the demo checks that the process that started it still runs. */
const PARENT_CHECK_MS = 250;

/** A stop was asked for: by `signal`, or as for it (SIGHUP when the parent process ended). */
class StopRequested extends Error {
  override name = 'StopRequested';
  constructor(
    readonly signal: NodeJS.Signals,
    readonly why: string = signal,
  ) {
    super(`stopped: ${why}`);
  }
}

/** The conventional exit status of a process ended by `signal`: 128 + its number. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 15);
}

/**
 * Listens for the stop signals and watches the parent process: the first stop signal, or the
 * parent's end, aborts the returned signal (with a {@link StopRequested}); a second stop signal
 * exits the process at once.
 */
function listenForStop(): AbortSignal {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) process.exit(signalExitCode(signal));
    stop.abort(new StopRequested(signal));
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  // An orphaned process is adopted by init or a subreaper: its parent id changes.
  const parent = process.ppid;
  const parentWatch = setInterval(() => {
    if (process.ppid === parent || stop.signal.aborted) return;
    clearInterval(parentWatch);
    stop.abort(new StopRequested('SIGHUP', 'the parent process ended'));
  }, PARENT_CHECK_MS);
  parentWatch.unref();
  return stop.signal;
}

/** Resolves when `signal` is aborted. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((done) => signal.addEventListener('abort', () => done(), { once: true }));
}

/** The stop signal `stop` was aborted with (or stands for). */
function stopSignalOf(stop: AbortSignal): NodeJS.Signals {
  return stop.reason instanceof StopRequested ? stop.reason.signal : 'SIGTERM';
}

/** Why `stop` was aborted, for the "Stopping" line. */
function stopReasonOf(stop: AbortSignal): string {
  return stop.reason instanceof StopRequested ? stop.reason.why : 'stopped';
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`${name} must be a port number, got ${value}`);
  return n;
}

interface StartOptions {
  readonly once: boolean;
  readonly dataDir: string;
  readonly ports: StackPorts | 'ephemeral';
}

/** The options of the command line; throws an Error naming a bad value. */
function parseStartOptions(argv: string[]): StartOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      once: { type: 'boolean' },
      ephemeral: { type: 'boolean' },
      'data-dir': { type: 'string' },
      'idp-port': { type: 'string' },
      'crm-port': { type: 'string' },
      'insights-port': { type: 'string' },
      'gateway-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const ports: StackPorts | 'ephemeral' = values.ephemeral
    ? 'ephemeral'
    : {
        idp: port(values['idp-port'] ?? process.env.IDP_PORT, DEFAULT_PORTS.idp, 'the IdP port'),
        crm: port(values['crm-port'] ?? process.env.CRM_PORT, DEFAULT_PORTS.crm, 'the CRM port'),
        insights: port(
          values['insights-port'] ?? process.env.INSIGHTS_PORT,
          DEFAULT_PORTS.insights,
          'the insights port',
        ),
        gateway: port(
          values['gateway-port'] ?? process.env.GATEWAY_PORT,
          DEFAULT_PORTS.gateway,
          'the gateway port',
        ),
      };
  const dataDir = values['data-dir'] !== undefined ? resolve(values['data-dir']) : DEFAULT_DATA_DIR;
  return { once: values.once === true, dataDir, ports };
}

const print = (line = ''): void => void process.stdout.write(`${line}\n`);

/**
 * Runs the walkthrough on `stack` and prints it; false when a step did not behave. Nothing more
 * is printed once `stop` is aborted (the steps still running then fail as the stack closes).
 */
async function walkThrough(stack: Stack, stop: AbortSignal): Promise<boolean> {
  const results = await runWalkthrough(stack, {
    onStep: (result, index, total) => {
      if (!stop.aborted) formatStep(result, index, total).forEach((l) => print(l));
    },
  });
  const failed = results.filter((r) => !r.ok);
  if (stop.aborted) return false;
  print();
  if (failed.length === 0) print(`✓ All ${results.length} steps behaved as expected.`);
  else {
    print(`✗ ${failed.length} of ${results.length} steps did not behave as expected:`);
    for (const r of failed) print(`  - ${r.id}: ${r.problem ?? ''}`);
  }
  return failed.length === 0;
}

async function main(argv: string[], stop: AbortSignal): Promise<number> {
  let options: StartOptions | 'help';
  try {
    options = parseStartOptions(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const ports = options.ports === 'ephemeral' ? await ephemeralPorts() : options.ports;

  print('mcp-iam demo: starting the development IdP, two MCP servers and the gateway…');
  let stack: Stack;
  try {
    stack = await startStack({ ports, signal: stop });
  } catch (error) {
    if (stop.aborted) return signalExitCode(stopSignalOf(stop));
    process.stderr.write(`The demo could not start: ${(error as Error).message}\n`);
    process.stderr.write('Is another program using one of the ports? Try --ephemeral.\n');
    return 1;
  }
  try {
    if (stack.gatewayProblem) print(`Note: ${stack.gatewayProblem}`);
    const walked = await Promise.race([
      walkThrough(stack, stop),
      aborted(stop).then(() => undefined),
    ]);
    if (walked === undefined) {
      print(`Stopping (${stopReasonOf(stop)})…`);
      return signalExitCode(stopSignalOf(stop));
    }
    if (options.once) return walked ? 0 : 1;

    const files = await writeDemoFiles(options.dataDir, stack.gatewayEnv);
    print();
    const view = { ...stack, gatewayRunning: stack.gateway !== undefined };
    tryItLines(view, files).forEach((l) => print(l));
    await aborted(stop);
    print(`Stopping (${stopReasonOf(stop)})…`);
    return 0;
  } finally {
    await stack.close();
  }
}

const stop = listenForStop();
const code = await main(process.argv.slice(2), stop);
// Exit now: a walkthrough step cut short by a stop signal may still hold a socket or a timer.
process.exit(code);
