/**
 * Worker thread of the paced generator: sleeps until each scheduled send time with
 * `Atomics.wait` (a futex wait, microsecond resolution, no busy loop) and then posts a message
 * that wakes the generator's event loop, whose own timers only have millisecond resolution.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { scheduledOffsetMs } from './pacing.js';

/** What the generator passes to the clock worker. */
export interface ClockData {
  /** The run's start, as `performance.timeOrigin + performance.now()` of the generator. */
  readonly startEpochMs: number;
  readonly rate: number;
  readonly total: number;
}

const data = workerData as ClockData;
const port = parentPort;
if (port) {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const startMs = data.startEpochMs - performance.timeOrigin;
  for (let i = 0; i < data.total; i++) {
    const wait = startMs + scheduledOffsetMs(i, data.rate) - performance.now();
    if (wait > 0) Atomics.wait(cell, 0, 0, wait);
    port.postMessage(i);
  }
}
