/**
 * A strict, bounded JSON parser for JOSE headers and JWT payloads. Unlike `JSON.parse` it rejects
 * duplicate member names (which `JSON.parse` resolves last-wins, letting two parsers disagree) and
 * nesting deeper than a small limit, so hostile input costs bounded CPU and stack.
 */
import { McpIamError } from '../errors.js';

/** Thrown for any input the strict parser refuses; the message says why (no input echoed). */
export class StrictJsonError extends McpIamError<'invalid_json'> {
  constructor(message: string) {
    super('invalid_json', message);
    this.name = 'StrictJsonError';
  }
}

/** Default maximum nesting depth of objects and arrays. */
export const DEFAULT_MAX_JSON_DEPTH = 16;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// Unescaped control characters are invalid inside JSON strings (RFC 8259 §7).
// eslint-disable-next-line no-control-regex
const PLAIN_STRING_RUN = /[^"\\\u0000-\u001f]*/y;

/**
 * Parses `text` as one JSON value with no duplicate member names and at most `maxDepth` nested
 * containers. Throws `StrictJsonError` on anything else. Member names such as `__proto__` become
 * plain own properties (never prototypes).
 *
 * @example
 * ```ts
 * parseStrictJson('{"a":1}');        // { a: 1 }
 * parseStrictJson('{"a":1,"a":2}');  // throws StrictJsonError (duplicate member "a")
 * ```
 */
export function parseStrictJson(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): unknown {
  // Fast path for what almost every request carries, acceptable JSON: the native parser, then
  // proof that it read exactly what the strict parser would. Anything else (invalid JSON, too deep,
  // a duplicate member) goes to the strict parser, which rejects it with the precise reason.
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return parseStrictJsonSlowly(text, maxDepth);
  }
  if (text.indexOf('\\') < 0) {
    // No escapes: proof by colon count (below), with native searches instead of a scan per char.
    stringColons = 0;
    const members = walk(value, 0, maxDepth);
    if (members < 0 || colonsIn(text) - stringColons !== members) {
      return parseStrictJsonSlowly(text, maxDepth);
    }
    return value;
  }
  const written = writtenMembers(text, maxDepth);
  if (written < 0 || countMembers(value) !== written) return parseStrictJsonSlowly(text, maxDepth);
  return value;
}

/** Number of `:` characters in `s`. */
function colonsIn(s: string): number {
  let n = 0;
  for (let i = s.indexOf(':'); i >= 0; i = s.indexOf(':', i + 1)) n++;
  return n;
}

// Colons of the strings `walk` reached (it runs synchronously, one call tree at a time).
let stringColons = 0;

/**
 * Members of every object in a parsed value, or -1 when containers nest deeper than `maxDepth`;
 * `stringColons` gains the `:` characters of every member name and string value it reaches.
 *
 * Why this proves the text has no duplicate member when `text` (valid JSON) has no backslash:
 * outside strings JSON has no `:` but the name separators, one per written member, so
 * colons(text) = written members + colons inside the written strings. Without escapes a string
 * literal reads as its own characters, and the parsed value holds every written string unless a
 * member was dropped as a duplicate. So colons(text) - stringColons >= members of the value, with
 * equality exactly when no member was dropped, i.e. when there is no duplicate. Every container of
 * a duplicate-free text is in the value, so the value's depth is the written depth.
 */
function walk(value: unknown, depth: number, maxDepth: number): number {
  if (typeof value === 'string') {
    if (value.indexOf(':') >= 0) stringColons += colonsIn(value);
    return 0;
  }
  if (value === null || typeof value !== 'object') return 0;
  if (depth >= maxDepth) return -1;
  let count = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const n = walk(value[i], depth + 1, maxDepth);
      if (n < 0) return -1;
      count += n;
    }
    return count;
  }
  for (const key of Object.keys(value)) {
    if (key.indexOf(':') >= 0) stringColons += colonsIn(key);
    const n = walk((value as Record<string, unknown>)[key], depth + 1, maxDepth);
    if (n < 0) return -1;
    count += 1 + n;
  }
  return count;
}
/**
 * Number of object members written in `text` (valid JSON): one name separator `:` outside strings
 * per member. -1 when containers nest deeper than `maxDepth`. `JSON.parse` keeps the last of
 * duplicate members, so its objects hold fewer members than were written exactly when the text has
 * a duplicate.
 */
function writtenMembers(text: string, maxDepth: number): number {
  let members = 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string; the text is valid JSON, so it ends at the next unescaped quote.
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x3a) members++;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return -1;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return members;
}

/** Members of every object in a parsed value (its nesting is already known to be bounded). */
function countMembers(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += countMembers(item);
    return count;
  }
  for (const key of Object.keys(value)) {
    count += 1 + countMembers((value as Record<string, unknown>)[key]);
  }
  return count;
}

/**
 * The strict parser alone, without the native fast path: the reference `parseStrictJson` must
 * agree with (its tests compare the two). Not exported by the package.
 */
export function parseStrictJsonSlowly(text: string, maxDepth: number): unknown {
  let pos = 0;

  const fail = (why: string): never => {
    throw new StrictJsonError(`${why} at offset ${pos}`);
  };
  const skipWs = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) pos++;
      else return;
    }
  };
  const parseString = (): string => {
    pos++; // opening quote
    let out = '';
    for (;;) {
      PLAIN_STRING_RUN.lastIndex = pos;
      PLAIN_STRING_RUN.test(text);
      out += text.slice(pos, PLAIN_STRING_RUN.lastIndex);
      pos = PLAIN_STRING_RUN.lastIndex;
      const c = text[pos];
      if (c === '"') {
        pos++;
        return out;
      }
      if (c !== '\\') fail(c === undefined ? 'unterminated string' : 'control character in string');
      const e = text[pos + 1];
      pos += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad unicode escape');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          fail('bad escape');
      }
    }
  };
  const parseValue = (depth: number): unknown => {
    skipWs();
    const c = text[pos];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) fail('nesting too deep');
      pos++;
      return c === '{' ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m || m[0].length === 0) return fail('unexpected token');
    pos += m[0].length;
    return Number(m[0]);
  };
  const parseObject = (depth: number): Record<string, unknown> => {
    const obj: Record<string, unknown> = {};
    const seen = new Set<string>();
    skipWs();
    if (text[pos] === '}') {
      pos++;
      return obj;
    }
    for (;;) {
      skipWs();
      if (text[pos] !== '"') fail('expected member name');
      const key = parseString();
      if (seen.has(key)) fail('duplicate member name');
      seen.add(key);
      skipWs();
      if (text[pos] !== ':') fail('expected ":"');
      pos++;
      const value = parseValue(depth);
      Object.defineProperty(obj, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      skipWs();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      fail('expected "," or "}"');
    }
  };
  const parseArray = (depth: number): unknown[] => {
    const arr: unknown[] = [];
    skipWs();
    if (text[pos] === ']') {
      pos++;
      return arr;
    }
    for (;;) {
      arr.push(parseValue(depth));
      skipWs();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      fail('expected "," or "]"');
    }
  };

  const value = parseValue(0);
  skipWs();
  if (pos !== text.length) fail('trailing data');
  return value;
}
