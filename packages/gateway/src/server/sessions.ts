/**
 * Which principal owns each upstream MCP session. The gateway binds an `Mcp-Session-Id` to the
 * principal whose request received it from the upstream, and lets only that principal use it
 * again (row 82): behind `downstream.mode: none` the upstream cannot tell callers apart, so the
 * gateway is the only component that can. A session id the gateway does not know (never seen,
 * expired, evicted, or after a restart) is refused like another principal's: the client starts a
 * new session, as the Streamable HTTP transport prescribes after a 404.
 */

/** Options of {@link SessionBindings}; every field has a default. */
export interface SessionBindingsOptions {
  /** A binding unused this long is forgotten, in ms (default 3600000 = 1 hour). */
  readonly idleTimeoutMs?: number;
  /** Most bindings kept; the least recently used is forgotten beyond it (default 100000). */
  readonly maxBindings?: number;
  /** Clock in ms (default `Date.now`). */
  readonly now?: () => number;
  /** Told the number of bindings whenever it changes. */
  readonly onSize?: (size: number) => void;
}

/** Whether a principal may use a session id: its own, unknown, or another principal's. */
export type SessionUse = 'owned' | 'unknown' | 'not_owned';

/** Longest session id bound; the MCP transport's ids are UUIDs or similar short tokens. */
export const MAX_SESSION_ID_LENGTH = 512;

interface Binding {
  readonly owner: string;
  lastUsed: number;
}

/**
 * A bounded, expiring map from (route, session id) to the principal key that owns the session.
 *
 * @example
 * ```ts
 * const sessions = new SessionBindings({ idleTimeoutMs: 3_600_000 });
 * sessions.bind('crm', 'a1b2', principalKey(alice));
 * sessions.use('crm', 'a1b2', principalKey(bob)); // 'not_owned'
 * ```
 */
export class SessionBindings {
  // Map order is recency order: a used binding is moved to the end, so the first is the oldest.
  readonly #bindings = new Map<string, Binding>();
  #idleTimeoutMs: number;
  #maxBindings: number;
  readonly #now: () => number;
  readonly #onSize: ((size: number) => void) | undefined;

  constructor(options: SessionBindingsOptions = {}) {
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 3_600_000;
    this.#maxBindings = options.maxBindings ?? 100_000;
    this.#now = options.now ?? Date.now;
    this.#onSize = options.onSize;
  }

  /** Number of live bindings (expired ones may still count until they are next looked at). */
  get size(): number {
    return this.#bindings.size;
  }

  /** Applies new limits (on reload); bindings beyond the new maximum are forgotten. */
  configure(options: Pick<SessionBindingsOptions, 'idleTimeoutMs' | 'maxBindings'>): void {
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 3_600_000;
    this.#maxBindings = options.maxBindings ?? 100_000;
    this.#trim();
  }

  /** Whether `owner` may use `sessionId` on `route`; a use of its own session refreshes it. */
  use(route: string, sessionId: string, owner: string): SessionUse {
    const key = bindingKey(route, sessionId);
    const binding = this.#bindings.get(key);
    if (!binding) return 'unknown';
    const now = this.#now();
    if (now - binding.lastUsed > this.#idleTimeoutMs) {
      this.#delete(key);
      return 'unknown';
    }
    if (binding.owner !== owner) return 'not_owned';
    binding.lastUsed = now;
    this.#bindings.delete(key);
    this.#bindings.set(key, binding);
    return 'owned';
  }

  /**
   * Binds a session id the upstream issued to `owner`. Returns false, binding nothing, when the id
   * is too long or already belongs to another principal (an upstream reissuing a live session id).
   */
  bind(route: string, sessionId: string, owner: string): boolean {
    if (sessionId.length > MAX_SESSION_ID_LENGTH) return false;
    const key = bindingKey(route, sessionId);
    const existing = this.#bindings.get(key);
    const now = this.#now();
    if (existing && existing.owner !== owner && now - existing.lastUsed <= this.#idleTimeoutMs)
      return false;
    this.#bindings.delete(key);
    this.#bindings.set(key, { owner, lastUsed: now });
    this.#trim();
    return true;
  }

  /** Forgets a session (deleted by its owner, or unknown to the upstream). */
  release(route: string, sessionId: string): void {
    this.#delete(bindingKey(route, sessionId));
  }

  #delete(key: string): void {
    if (this.#bindings.delete(key)) this.#onSize?.(this.#bindings.size);
  }

  /** Forgets expired bindings at the old end, then the oldest beyond the maximum. */
  #trim(): void {
    const now = this.#now();
    for (const [key, binding] of this.#bindings) {
      if (this.#bindings.size > this.#maxBindings || now - binding.lastUsed > this.#idleTimeoutMs)
        this.#bindings.delete(key);
      else break;
    }
    this.#onSize?.(this.#bindings.size);
  }
}

/** One key per (route, session id) pair; a JSON array, so no two pairs produce the same key. */
function bindingKey(route: string, sessionId: string): string {
  return JSON.stringify([route, sessionId]);
}
