/**
 * The demo's walkthrough: each step is a function that does one thing a newcomer should see
 * (a request without a token, a sign-in, a refusal, a step-up, a delegated call, a machine client
 * behind the gateway, a disabled user, the audit trail), records what went over the wire, and
 * checks that every answer was the expected one. `npm start`, `npm run demo` and the test run the
 * same steps; this module runs them in order and formats what they found.
 */
import { HttpRecorder, type RecordedEvent } from '../agent/recorder.js';
import type { Stack } from './stack.js';
import { GATEWAY_STEPS } from './steps-gateway.js';
import { SERVER_STEPS } from './steps-servers.js';
import {
  describeError,
  StepFailure,
  type StepResult,
  type WalkthroughContext,
  type WalkthroughStep,
} from './walkthrough-step.js';

export { StepFailure, type StepResult, type WalkthroughContext, type WalkthroughStep };

/** The walkthrough, in order. */
export const WALKTHROUGH: readonly WalkthroughStep[] = [...SERVER_STEPS, ...GATEWAY_STEPS];

function eventLines(events: readonly RecordedEvent[]): string[] {
  const lines: string[] = [];
  for (const e of events) {
    // Protocol housekeeping (the optional event stream probe, the initialized notification) is
    // left out of the story; the audit trail still lists it.
    if (e.kind === 'http' && e.method === 'GET' && e.status === 405) continue;
    if (e.kind === 'http' && e.rpc === 'notifications/initialized' && e.status === 202) continue;
    if (e.kind === 'note') {
      lines.push(`· ${e.text}`);
      continue;
    }
    const what = e.rpc ? `  ${e.rpc}` : '';
    lines.push(`→ ${e.method} ${e.url}${what}${e.withToken ? '  (with token)' : ''}`);
    lines.push(`← ${e.status}${e.challenge ? `  WWW-Authenticate: ${e.challenge}` : ''}`);
  }
  return lines;
}

/** Options of {@link runWalkthrough}. */
export interface WalkthroughOptions {
  /** Called after each step (to print it as it happens). */
  onStep?: (result: StepResult, index: number, total: number) => void;
  /** Longest time one step may take (default 30 s). */
  stepTimeoutMs?: number;
}

/** Runs every step against `stack`, in order, and returns their results. Never throws. */
export async function runWalkthrough(
  stack: Stack,
  options: WalkthroughOptions = {},
): Promise<StepResult[]> {
  const context: WalkthroughContext = { stack, sessions: [] };
  const results: StepResult[] = [];
  const timeoutMs = options.stepTimeoutMs ?? 30_000;
  // One recorder for the whole walkthrough, emptied before each step: sessions opened in one
  // step keep narrating into it in the next.
  const recorder = new HttpRecorder();
  try {
    for (const [index, step] of WALKTHROUGH.entries()) {
      recorder.reset();
      let result: StepResult;
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new StepFailure(`no result within ${timeoutMs} ms`)),
            timeoutMs,
          );
        });
        const lines = await Promise.race([step.run(context, recorder), timeout]);
        result = {
          id: step.id,
          title: step.title,
          ok: true,
          lines: [...eventLines(recorder.events), ...lines],
        };
      } catch (error) {
        const problem =
          error instanceof StepFailure
            ? error.message
            : `unexpected error: ${describeError(error)}`;
        result = {
          id: step.id,
          title: step.title,
          ok: false,
          lines: eventLines(recorder.events),
          problem,
        };
      } finally {
        clearTimeout(timer);
      }
      results.push(result);
      options.onStep?.(result, index, WALKTHROUGH.length);
    }
  } finally {
    for (const session of context.sessions) await session.close().catch(() => undefined);
  }
  return results;
}

/** The walkthrough's results as printable lines (step header, story, verdict). */
export function formatStep(result: StepResult, index: number, total: number): string[] {
  const header = `━━ Step ${index + 1} of ${total} · ${result.title}`;
  const verdict = result.ok ? [] : [`✗ Not as expected (${result.id}): ${result.problem ?? ''}`];
  const indented = (l: string): string => (l ? `  ${l}` : l);
  return ['', header, ...result.lines.map(indented), ...verdict.map(indented)];
}
