/** Specification of session bindings (row 82): who may use an upstream session, and for how long. */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { MAX_SESSION_ID_LENGTH, SessionBindings } from './sessions.js';

const ALICE = JSON.stringify(['https://idp.example', 'user', 'alice']);
const BOB = JSON.stringify(['https://idp.example', 'user', 'bob']);

describe('session bindings', () => {
  test('a bound session serves its owner only; an id never bound is unknown', () => {
    const sessions = new SessionBindings();
    assert.equal(sessions.bind('crm', 's1', ALICE), true);
    assert.equal(sessions.use('crm', 's1', ALICE), 'owned');
    assert.equal(sessions.use('crm', 's1', BOB), 'not_owned');
    assert.equal(sessions.use('crm', 's2', ALICE), 'unknown');
    assert.equal(sessions.use('notes', 's1', ALICE), 'unknown', 'bindings are per route');
  });

  test('an id already bound to another principal is not rebound; the owner may rebind it', () => {
    const sessions = new SessionBindings();
    sessions.bind('crm', 's1', ALICE);
    assert.equal(sessions.bind('crm', 's1', BOB), false);
    assert.equal(sessions.use('crm', 's1', ALICE), 'owned');
    assert.equal(sessions.bind('crm', 's1', ALICE), true);
  });

  test('a released session is unknown to everyone', () => {
    const sessions = new SessionBindings();
    sessions.bind('crm', 's1', ALICE);
    sessions.release('crm', 's1');
    assert.equal(sessions.use('crm', 's1', ALICE), 'unknown');
    assert.equal(sessions.bind('crm', 's1', BOB), true);
  });

  test('a binding unused for longer than the idle timeout is forgotten; use refreshes it', () => {
    let now = 0;
    const sessions = new SessionBindings({ idleTimeoutMs: 1000, now: () => now });
    sessions.bind('crm', 's1', ALICE);
    now = 900;
    assert.equal(sessions.use('crm', 's1', ALICE), 'owned');
    now = 1800;
    assert.equal(sessions.use('crm', 's1', ALICE), 'owned');
    now = 2801;
    assert.equal(sessions.use('crm', 's1', ALICE), 'unknown');
    assert.equal(sessions.size, 0);
    // Another principal can take over only an id whose binding has expired.
    sessions.bind('crm', 's2', ALICE);
    now = 5000;
    assert.equal(sessions.bind('crm', 's2', BOB), true);
  });

  test('beyond the maximum the least recently used binding is forgotten', () => {
    const sizes: number[] = [];
    const sessions = new SessionBindings({ maxBindings: 2, onSize: (n) => sizes.push(n) });
    sessions.bind('crm', 'a', ALICE);
    sessions.bind('crm', 'b', ALICE);
    assert.equal(sessions.use('crm', 'a', ALICE), 'owned');
    sessions.bind('crm', 'c', ALICE);
    assert.equal(sessions.size, 2);
    assert.equal(sessions.use('crm', 'b', ALICE), 'unknown');
    assert.equal(sessions.use('crm', 'a', ALICE), 'owned');
    assert.equal(sessions.use('crm', 'c', ALICE), 'owned');
    assert.equal(sizes.at(-1), 2);
    sessions.configure({ maxBindings: 1 });
    assert.equal(sessions.size, 1);
  });

  test('an over-long session id is never bound', () => {
    const sessions = new SessionBindings();
    assert.equal(sessions.bind('crm', 'x'.repeat(MAX_SESSION_ID_LENGTH + 1), ALICE), false);
    assert.equal(sessions.size, 0);
  });

  test('route and session id are encoded unambiguously', () => {
    const sessions = new SessionBindings();
    sessions.bind('a","b', 'c', ALICE);
    assert.equal(sessions.use('a', 'b","c', ALICE), 'unknown');
  });
});
