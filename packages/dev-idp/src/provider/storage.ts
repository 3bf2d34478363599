// In-memory storage for one IdP instance (oidc-provider's adapter interface). Each instance owns
// its store, so several IdPs in one process (tests) never share codes, tokens or sessions, and a
// key rotation, which rebuilds the provider, keeps every issued artefact.
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  expiresAt: number;
}

/** A per-instance store backing oidc-provider's models. */
export class MemoryStore {
  #entries = new Map<string, Entry>();
  #grants = new Map<string, Set<string>>();
  #uids = new Map<string, string>();
  #writes = 0;

  /** Drops expired entries now and then, so a long-running dev IdP does not grow without end. */
  #sweep(): void {
    this.#writes += 1;
    if (this.#writes % 500 !== 0) return;
    const now = Date.now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
    for (const [grantId, members] of this.#grants) {
      for (const key of members) if (!this.#entries.has(key)) members.delete(key);
      if (members.size === 0) this.#grants.delete(grantId);
    }
  }

  /** Returns the adapter factory the provider's `adapter` option expects. */
  adapterFactory(): (model: string) => Adapter {
    return (model) => this.#adapter(model);
  }

  #get(key: string): AdapterPayload | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  #adapter(model: string): Adapter {
    const keyOf = (id: string): string => `${model}:${id}`;
    return {
      upsert: async (id, payload, expiresIn) => {
        this.#sweep();
        const key = keyOf(id);
        const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
        this.#entries.set(key, { payload, expiresAt });
        if (typeof payload.grantId === 'string') {
          const members = this.#grants.get(payload.grantId) ?? new Set<string>();
          members.add(key);
          this.#grants.set(payload.grantId, members);
        }
        if (model === 'Session' && typeof payload.uid === 'string') this.#uids.set(payload.uid, id);
      },
      find: async (id) => this.#get(keyOf(id)),
      findByUid: async (uid) => {
        const id = this.#uids.get(uid);
        return id === undefined ? undefined : this.#get(keyOf(id));
      },
      findByUserCode: async () => undefined,
      consume: async (id) => {
        const payload = this.#get(keyOf(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id) => {
        this.#entries.delete(keyOf(id));
      },
      revokeByGrantId: async (grantId) => {
        for (const key of this.#grants.get(grantId) ?? []) this.#entries.delete(key);
        this.#grants.delete(grantId);
      },
    };
  }
}
