/**
 * What every walkthrough step is made of: the step and its result, the context steps share, and
 * the checks they use to say what they expected when an answer was not the expected one.
 */
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AgentSession } from '../agent/agent.js';
import type { DemoAgentOAuthProvider } from '../agent/oauth-provider.js';
import { challengeParams, type HttpEvent, type HttpRecorder } from '../agent/recorder.js';
import type { Stack } from './stack.js';

/** A step did not behave as expected. */
export class StepFailure extends Error {
  override name = 'StepFailure';
}

/** What the steps share: the stack, and the sessions earlier steps opened. */
export interface WalkthroughContext {
  readonly stack: Stack;
  alice?: { provider: DemoAgentOAuthProvider; session: AgentSession };
  bobRefreshToken?: string;
  readonly sessions: AgentSession[];
}

/** One walkthrough step. */
export interface WalkthroughStep {
  /** Stable identifier, used in failure messages and tests. */
  readonly id: string;
  readonly title: string;
  /** Whether the step goes through the gateway. */
  readonly needsGateway: boolean;
  /** Runs the step, narrating into `recorder`; returns result lines; throws {@link StepFailure}. */
  run(context: WalkthroughContext, recorder: HttpRecorder): Promise<string[]>;
}

/** The outcome of one step. */
export interface StepResult {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  /** The story of the step: requests, answers, notes, results. */
  readonly lines: readonly string[];
  /** Why the step failed. */
  readonly problem?: string;
}

export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new StepFailure(message);
}

export function requireGateway(context: WalkthroughContext): void {
  if (!context.stack.gateway) {
    throw new StepFailure(
      `this step needs the gateway, which is not running: ${context.stack.gatewayProblem ?? 'unknown reason'}`,
    );
  }
}

export function findRequest(
  recorder: HttpRecorder,
  predicate: (e: HttpEvent) => boolean,
  what: string,
): HttpEvent {
  const found = recorder.requests.find(predicate);
  expect(found, `expected ${what}, but the client never saw it`);
  return found;
}

export function challengeError(e: HttpEvent): string | undefined {
  return challengeParams(e.challenge).get('error');
}

export function indent(text: string): string[] {
  return text.split('\n').map((line) => `    ${line}`);
}

export async function expectHttpStatus(
  promise: Promise<unknown>,
  status: number,
  what: string,
): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StreamableHTTPError && error.code === status) return;
    throw new StepFailure(`${what}: expected HTTP ${status}, got ${describeError(error)}`);
  }
  throw new StepFailure(`${what}: expected HTTP ${status}, but the call succeeded`);
}

export function describeError(error: unknown): string {
  if (error instanceof StreamableHTTPError) return `HTTP ${error.code ?? '?'}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
