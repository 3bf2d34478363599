/**
 * Which records `buildAuditRecord` made: a record whose every field already passed the checks a
 * sink applies is an instance of `SanitizedAuditRecord`, whose private brand only this module can
 * give, so a sink may skip re-validating it. Only the check is public (re-exported by
 * `record.ts`); only `build.ts` creates such records.
 */

/**
 * The object of a record built by `buildAuditRecord` whose fields passed the sink checks. The
 * brand is a private field: invisible to JSON.stringify, Object.keys and copies, and no other code
 * can put it on an object. Core-internal.
 */
export class SanitizedAuditRecord {
  #sanitized = true;

  /** Whether `value` carries the brand. */
  static has(value: object): boolean {
    return #sanitized in value;
  }
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
    typeof record === 'object' &&
    record !== null &&
    SanitizedAuditRecord.has(record) &&
    Object.isFrozen(record)
  );
}
