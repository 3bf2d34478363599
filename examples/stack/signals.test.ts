// `npm start` as a supervisor, `docker stop` or a CI harness treats it: a signal to the demo
// process alone, at any moment, stops every process it started and frees every port it used,
// so the next `npm start` can begin at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  busyPorts,
  CAN_LIST_PROCESSES,
  commandLine,
  descendantsOf,
  isRunning,
  startDemoProcess,
  survivors,
  type DemoProcess,
} from './testing/demo-process.js';

/** Stops `demo` with `signal` once it has printed `moment`; checks what is left afterwards. */
async function stopAt(
  moment: string,
  signal: NodeJS.Signals,
  expectedExit: { code: number | null; signal: NodeJS.Signals | null },
  options: { needsGateway: boolean; underShell?: boolean },
): Promise<void> {
  const demo: DemoProcess = await startDemoProcess({ underShell: options.underShell ?? false });
  let started: number[] = [];
  try {
    await demo.waitFor(moment);
    const pid = demo.child.pid as number;
    started = descendantsOf(pid);
    if (options.needsGateway) {
      assert.ok(
        started.some((p) => commandLine(p).includes(' gateway --config ')),
        `the gateway child runs at "${moment}": ${started.map(commandLine).join('; ')}`,
      );
    }
    process.kill(pid, signal);
    assert.deepEqual(await demo.exited(), expectedExit, demo.stdout() + demo.stderr());
    const left = await survivors(started);
    assert.deepEqual(left.map(commandLine), [], 'no process the demo started is still running');
    assert.deepEqual(await busyPorts(demo.ports), [], 'every port of the demo is free');
  } finally {
    // When the rule is broken, leave no stray process behind (it would hold the test's pipes).
    for (const pid of started.filter(isRunning)) process.kill(pid, 'SIGKILL');
    await demo.cleanup();
  }
}

describe(
  'stopping npm start with a signal to its process alone',
  { skip: !CAN_LIST_PROCESSES },
  () => {
    it('SIGINT during start-up: it stops what has started, exits 130, and no child is left', () =>
      stopAt(
        'starting the development IdP',
        'SIGINT',
        { code: 130, signal: null },
        {
          needsGateway: false,
        },
      ));

    it('SIGTERM during the walkthrough: the gateway and its children stop, exit 143, ports free', () =>
      stopAt('━━ Step 2 of', 'SIGTERM', { code: 143, signal: null }, { needsGateway: true }));

    it('SIGTERM while serving: everything stops, exit 0, ports free', () =>
      stopAt(
        'Press Ctrl-C to stop.',
        'SIGTERM',
        { code: 0, signal: null },
        { needsGateway: true },
      ));

    it('SIGKILL while serving (nothing can run in the demo process): its children still stop and free the ports', () =>
      stopAt(
        'Press Ctrl-C to stop.',
        'SIGKILL',
        { code: null, signal: 'SIGKILL' },
        {
          needsGateway: true,
        },
      ));

    it('SIGTERM to the shell that runs it (npm start runs it under sh -c): the demo sees its parent end and stops everything', () =>
      stopAt(
        'Press Ctrl-C to stop.',
        'SIGTERM',
        { code: null, signal: 'SIGTERM' },
        {
          needsGateway: true,
          underShell: true,
        },
      ));
  },
);
