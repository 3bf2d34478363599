/**
 * A shiftable clock for in-process end-to-end tests: `Date.now` of the whole test process is
 * replaced by the real clock plus an offset. The gateway's verifier, key sets and caches, and the
 * development IdP read `Date.now` (captured when they are created), so shifting it moves every clock
 * they consult — a key set can be made stale or expired without waiting. Timers are not affected.
 */
const realNow = Date.now.bind(Date);
let offsetMs = 0;
Date.now = () => realNow() + offsetMs;

/** Moves the process clock forward by `seconds`. */
export function advanceClock(seconds: number): void {
  offsetMs += seconds * 1000;
}

/** Puts the process clock back to real time. */
export function resetClock(): void {
  offsetMs = 0;
}
