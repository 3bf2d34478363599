/**
 * The spool's line format: one record per line, `<crc32 as 8 hex digits> <record JSON>\n`. The
 * checksum covers the JSON bytes, so a torn or damaged line is detected on recovery and on read.
 */
import { crc32 } from 'node:zlib';
import type { AuditRecord } from '@mcp-iam/core';

const NEWLINE = 0x0a;
const SPACE = 0x20;
const HEX = /^[0-9a-f]{8}$/;

/**
 * Encodes one record as a checksummed spool line (newline included).
 *
 * @example
 * ```ts
 * const line = encodeSpoolLine(record); // <Buffer "1c291ca3 {\"id\":...}\n">
 * ```
 */
export function encodeSpoolLine(record: AuditRecord): Buffer {
  return encodeSpoolJson(JSON.stringify(record));
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/**
 * Encodes a record's JSON text (one object, as `JSON.stringify` writes it: no raw newline) as a
 * checksummed spool line, in one allocation.
 *
 * @example
 * ```ts
 * const line = encodeSpoolJson(JSON.stringify(record));
 * ```
 */
export function encodeSpoolJson(json: string): Buffer {
  const length = Buffer.byteLength(json, 'utf8');
  const line = Buffer.allocUnsafe(length + 10);
  line.write(json, 9, length, 'utf8');
  let sum = crc32(line.subarray(9, 9 + length));
  for (let i = 7; i >= 0; i -= 1) {
    line[i] = HEX_DIGITS[sum & 0xf] as number;
    sum >>>= 4;
  }
  line[8] = SPACE;
  line[length + 9] = NEWLINE;
  return line;
}

/**
 * Decodes one line (without its newline). Returns `undefined` when the checksum, the separator or
 * the JSON is wrong: the caller treats that as a torn or damaged line.
 */
export function decodeSpoolLine(line: Buffer): AuditRecord | undefined {
  if (line.length < 11 || line[8] !== SPACE) return undefined;
  const sum = line.toString('latin1', 0, 8);
  if (!HEX.test(sum)) return undefined;
  const json = line.subarray(9);
  if (crc32(json) !== Number.parseInt(sum, 16)) return undefined;
  try {
    const value: unknown = JSON.parse(json.toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    return value as AuditRecord;
  } catch {
    return undefined;
  }
}

/** One decoded line of a buffer: the record and the byte offsets of the line within the buffer. */
export interface ScannedLine {
  readonly record: AuditRecord;
  readonly start: number;
  readonly end: number;
}

/** Result of scanning a buffer: the good lines, where good data ends, and why scanning stopped. */
export interface ScanResult {
  readonly lines: ScannedLine[];
  /** Offset just past the last good line. */
  readonly goodEnd: number;
  /**
   * `end`: every byte was consumed; `partial`: an unterminated last line; `bad`: a damaged line;
   * `zero`: a zero byte came before the next line ended. No line holds a zero byte (JSON escapes
   * control characters), so a zero where a line starts is the unused, zero-filled tail of a
   * preallocated segment (the end of its data), and one inside a line is a torn write before it.
   */
  readonly stop: 'end' | 'partial' | 'bad' | 'zero';
}

/** Scans complete, valid lines from `buffer`, stopping at the first partial or damaged one. */
export function scanSpoolLines(buffer: Buffer): ScanResult {
  const lines: ScannedLine[] = [];
  const firstZero = buffer.indexOf(0);
  const zero = firstZero < 0 ? buffer.length : firstZero;
  let start = 0;
  while (start < buffer.length) {
    if (start === zero) return { lines, goodEnd: start, stop: 'zero' };
    const nl = buffer.indexOf(NEWLINE, start);
    if (nl < 0 || nl > zero) {
      return { lines, goodEnd: start, stop: zero < buffer.length ? 'zero' : 'partial' };
    }
    const record = decodeSpoolLine(buffer.subarray(start, nl));
    if (record === undefined) return { lines, goodEnd: start, stop: 'bad' };
    lines.push({ record, start, end: nl + 1 });
    start = nl + 1;
  }
  return { lines, goodEnd: start, stop: 'end' };
}
