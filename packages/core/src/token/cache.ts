/**
 * Cache of verified JWT results, keyed by SHA-256 of the whole token. It stores only what
 * verification produced (principal, the verifying key, expiry), is bounded by entries and by
 * approximate bytes, and never keeps an entry past the token's `exp` or the configured cap. Route
 * checks (audience, issuer subset) are not cached: callers run them after every hit.
 */
import { hash } from 'node:crypto';
import { tokenFingerprint } from '../audit/record.js';
import type { Principal } from '../principal/principal.js';
import type { VerificationKey } from '../issuer/keyset.js';
import type { VerifiedToken } from './verifier.js';

/** Options of `ValidatedTokenCache`. */
export interface ValidatedTokenCacheOptions {
  /** Most entries. Default 10 000. */
  readonly maxEntries?: number;
  /** Most approximate bytes of cached claims. Default 16 MiB. */
  readonly maxBytes?: number;
  /** Longest time an entry lives, seconds (also never beyond `exp`). Default 60. */
  readonly maxTtlSec?: number;
}

/** One cached verification result; it keeps the token's audit fingerprint once computed. */
export class CachedVerification implements VerifiedToken {
  readonly principal: Principal;
  readonly key: VerificationKey;
  /** Epoch ms after which the entry is gone. */
  readonly until: number;
  readonly bytes: number;
  #fingerprintKey: string | Buffer | undefined;
  #fingerprint = '';

  constructor(principal: Principal, key: VerificationKey, until: number, bytes: number) {
    this.principal = principal;
    this.key = key;
    this.until = until;
    this.bytes = bytes;
  }

  fingerprint(token: string, key: string | Buffer): string {
    // One key per audit configuration: the last one is remembered.
    if (key !== this.#fingerprintKey) {
      this.#fingerprint = tokenFingerprint(token, key);
      this.#fingerprintKey = key;
    }
    return this.#fingerprint;
  }
}

/** SHA-256 of the token, base64url; the cache key (the token itself is never stored). */
export function tokenCacheKey(token: string): string {
  // One-shot: no Hash object per lookup (this runs on every request).
  return hash('sha256', token, 'base64url');
}

/**
 * A bounded, expiring map from token hash to verified result (oldest evicted first).
 *
 * @example
 * ```ts
 * const cache = new ValidatedTokenCache({ maxEntries: 1000 });
 * cache.set(tokenCacheKey(token), principal, key, principal.expiresAt, 1200);
 * ```
 */
export class ValidatedTokenCache {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #maxTtlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, CachedVerification>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(options: ValidatedTokenCacheOptions = {}, now: () => number = Date.now) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.#maxTtlMs = (options.maxTtlSec ?? 60) * 1000;
    this.#now = now;
  }

  /** Entry count, approximate bytes, hits and misses (for metrics). */
  state(): { size: number; bytes: number; hits: number; misses: number } {
    return { size: this.#entries.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses };
  }

  /** The live entry for `key`, or undefined (expired entries are removed). */
  get(key: string): CachedVerification | undefined {
    const entry = this.#entries.get(key);
    if (!entry) {
      this.#misses++;
      return undefined;
    }
    if (entry.until <= this.#now()) {
      this.delete(key);
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    return entry;
  }

  /** Removes one entry. */
  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry) {
      this.#bytes -= entry.bytes;
      this.#entries.delete(key);
    }
  }

  /** Stores a result until min(now + maxTtlSec, exp); `bytes` is the caller's size estimate. */
  set(
    key: string,
    principal: Principal,
    verifiedBy: VerificationKey,
    expSec: number,
    bytes: number,
  ): void {
    if (this.#maxEntries <= 0 || this.#maxTtlMs <= 0 || bytes > this.#maxBytes) return;
    const now = this.#now();
    const until = Math.min(now + this.#maxTtlMs, expSec * 1000);
    if (until <= now) return;
    this.delete(key);
    while (this.#entries.size >= this.#maxEntries || this.#bytes + bytes > this.#maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
    this.#entries.set(key, new CachedVerification(principal, verifiedBy, until, bytes));
    this.#bytes += bytes;
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
