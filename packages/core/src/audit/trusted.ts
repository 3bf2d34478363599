/**
 * Which records `buildAuditRecord` made: a module-private mark on the frozen records it built whose
 * every field already passed the checks a sink applies, so a sink may skip re-validating them.
 * Only the check is public (re-exported by `record.ts`); only `build.ts` marks records.
 */
// The mark is a private field stamped onto the record: `Stamp`'s base constructor returns the
// record, so `Stamp`'s field is installed on it. Only this module can add it; it is invisible to
// JSON.stringify, Object.keys and deepEqual; copies and proxies do not carry it; and it costs far
// less per record than a WeakSet entry.
class ReturnsItsArgument {
  constructor(value: object) {
    return value;
  }
}

class Stamp extends ReturnsItsArgument {
  #sanitized = true;

  static has(value: object): boolean {
    return #sanitized in value;
  }
}

/** Marks a record `buildAuditRecord` is building (before it is frozen). Core-internal. */
export function markSanitizedAuditRecord(record: object): void {
  if (!Stamp.has(record)) new Stamp(record);
}

/**
 * Whether `record` was built by `buildAuditRecord` and cannot have changed since: it is frozen, its
 * lists are frozen, every attacker-controlled string in it went through `sanitizeAuditString`, its
 * other strings (`id`, `time`, `reason`, `tokenFingerprint`) are printable ASCII of at most 256
 * characters, its `outcome` is allow, deny or error, and its numbers are finite. A sink may store
 * such a record without validating it again. It may still hold JWT-shaped text (core does not
 * redact), and any other object, including a copy of such a record, returns `false`.
 *
 * @example
 * ```ts
 * isSanitizedAuditRecord(buildAuditRecord({ outcome: 'deny', reason: 'missing_token', startedAt: Date.now() })); // true
 * isSanitizedAuditRecord({ ...record }); // false
 * ```
 */
export function isSanitizedAuditRecord(record: unknown): boolean {
  return (
    typeof record === 'object' && record !== null && Stamp.has(record) && Object.isFrozen(record)
  );
}
