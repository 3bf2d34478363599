/**
 * The shape every fuzz property takes, so one runner (`npm run fuzz`) and one short test
 * (`npm test`) can drive them all: a target function, a rule in words, and a fast-check property
 * checked with caller-chosen parameters (run count, time budget, seed and path for replay).
 */
import fc from 'fast-check';

/** How one property is checked. */
export interface FuzzParameters {
  /** Most runs; default fast-check's 100. */
  readonly numRuns?: number;
  /** Stop after this many milliseconds (the runs done so far count; an interrupt is not a failure). */
  readonly timeLimitMs?: number;
  /** Seed to replay. */
  readonly seed?: number;
  /** Path of a counterexample to replay (with its seed). */
  readonly path?: string;
}

/** What a check found. */
export interface FuzzOutcome {
  readonly failed: boolean;
  /** Runs executed. */
  readonly numRuns: number;
  readonly seed: number;
  /** Replay path of the shrunk counterexample. */
  readonly path?: string;
  /** The shrunk counterexample, printed. */
  readonly counterexample?: string;
  /** The error the counterexample raised. */
  readonly error?: string;
}

/** One fuzz property of one target. */
export interface FuzzProperty {
  /** The function under test, e.g. `parseStrictJson`. */
  readonly target: string;
  /** The rule, stated as a sentence. */
  readonly name: string;
  check(parameters: FuzzParameters): FuzzOutcome;
}

/**
 * Wraps a fast-check property as a `FuzzProperty`.
 *
 * @example
 * ```ts
 * export const properties = [fuzzProperty('f', 'never throws', fc.property(fc.string(), (s) => { f(s); }))];
 * ```
 */
export function fuzzProperty<Ts extends [unknown, ...unknown[]]>(
  target: string,
  name: string,
  property: fc.IPropertyWithHooks<Ts>,
): FuzzProperty {
  return {
    target,
    name,
    check(parameters) {
      const details = fc.check(property, {
        ...(parameters.numRuns !== undefined ? { numRuns: parameters.numRuns } : {}),
        ...(parameters.timeLimitMs !== undefined
          ? { interruptAfterTimeLimit: parameters.timeLimitMs, markInterruptAsFailure: false }
          : {}),
        ...(parameters.seed !== undefined ? { seed: parameters.seed } : {}),
        ...(parameters.path !== undefined ? { path: parameters.path } : {}),
      });
      return {
        failed: details.failed,
        numRuns: details.numRuns,
        seed: details.seed,
        ...(details.counterexamplePath !== null ? { path: details.counterexamplePath } : {}),
        ...(details.counterexample !== null
          ? { counterexample: fc.stringify(details.counterexample) }
          : {}),
        ...(details.errorInstance !== null ? { error: describeError(details.errorInstance) } : {}),
      };
    },
  };
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * Runs `fn` and fails unless it returns or throws an instance of one of `allowed`. Returns the
 * value, or the allowed error that was thrown.
 */
export function onlyThrows<T>(
  fn: () => T,
  allowed: ReadonlyArray<abstract new (...args: never[]) => Error>,
): { value: T } | { error: Error } {
  try {
    return { value: fn() };
  } catch (error) {
    if (allowed.some((cls) => error instanceof cls)) return { error: error as Error };
    throw new Error(`unexpected ${describeError(error)}`, { cause: error });
  }
}
