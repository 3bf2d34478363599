// A short run of every fuzz property, part of `npm test`: a few hundred runs each with a fresh
// seed, so every test run explores new inputs. A failure prints the seed and path to replay with
// `npm run fuzz -- --only "<rule>" --seed S --path P`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allProperties } from './all.js';

const RUNS = 250;

for (const property of allProperties) {
  test(`fuzz ${property.target}: ${property.name}`, () => {
    const outcome = property.check({ numRuns: RUNS });
    assert.equal(
      outcome.failed,
      false,
      `counterexample ${outcome.counterexample ?? ''} (${outcome.error ?? ''}); replay with ` +
        `--seed ${outcome.seed}${outcome.path !== undefined ? ` --path ${outcome.path}` : ''}`,
    );
  });
}
