/**
 * The requests `mcp-iam check` makes, and how their failures are worded: every failure names the
 * URL and the cause — the system error code when nothing answered (`ECONNREFUSED`, `ETIMEDOUT`),
 * else the HTTP status and the OAuth `error` / `error_description` the server gave (from the JSON
 * body, or from `WWW-Authenticate` when the body has none).
 */
import { fetchFailureCause } from '@mcp-iam/core';

/** A server's answer to a probe. */
export interface ProbeAnswer {
  readonly kind: 'answer';
  readonly status: number;
  readonly headers: Headers;
  /** The body parsed as JSON, when it is a JSON object. */
  readonly json: Readonly<Record<string, unknown>> | undefined;
}

/** No answer: the request failed before a status arrived. */
export interface ProbeSilence {
  readonly kind: 'silence';
  /** `ECONNREFUSED`, `ETIMEDOUT`, `ENOTFOUND`, a TLS error code, ... */
  readonly cause: string;
}

/** A request to make: method, headers and form body. */
export interface ProbeRequest {
  readonly method: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly form?: Readonly<Record<string, string>>;
}

/** Largest probe answer read, bytes: enough for any OAuth error or metadata document. */
const MAX_PROBE_BODY = 256 * 1024;

/** Sends one request (no redirects, a timeout) and reads a small JSON answer if there is one. */
export async function probe(
  url: string,
  request: ProbeRequest,
  timeoutMs: number,
): Promise<ProbeAnswer | ProbeSilence> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method,
      redirect: 'manual',
      headers: {
        ...(request.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...request.headers,
      },
      ...(request.form ? { body: new URLSearchParams(request.form).toString() } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return { kind: 'silence', cause: fetchFailureCause(error) };
  }
  let json: Record<string, unknown> | undefined;
  const type = response.headers.get('content-type') ?? '';
  const length = Number(response.headers.get('content-length') ?? '0');
  if (/json/i.test(type) && length <= MAX_PROBE_BODY) {
    try {
      const parsed: unknown = await response.json();
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        json = parsed as Record<string, unknown>;
      }
    } catch {
      // Not JSON after all: the status says enough.
    }
  } else {
    await response.body?.cancel().catch(() => undefined);
  }
  return { kind: 'answer', status: response.status, headers: response.headers, json };
}

/** `POST http://…/token: no answer (ECONNREFUSED)`. */
export function describeSilence(method: string, url: string, silence: ProbeSilence): string {
  return `${method} ${url}: no answer (${silence.cause})`;
}

/** One `name="value"` (or `name=token`) parameter of a `WWW-Authenticate` value. */
function challengeParameter(header: string, name: string): string | undefined {
  const match = new RegExp(
    `(?:^|[\\s,])${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^\\s,]+))`,
    'i',
  ).exec(header);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}

/** The OAuth `error` and `error_description` of an answer, from its body or its challenge. */
export function oauthErrorOf(answer: ProbeAnswer): { error?: string; description?: string } {
  const body = answer.json ?? {};
  const challenge = answer.headers.get('www-authenticate') ?? '';
  const error =
    typeof body.error === 'string' ? body.error : challengeParameter(challenge, 'error');
  const description =
    typeof body.error_description === 'string'
      ? body.error_description
      : challengeParameter(challenge, 'error_description');
  return {
    ...(error !== undefined ? { error } : {}),
    ...(description !== undefined ? { description } : {}),
  };
}

/** Longest piece of a server's own text quoted in a finding. */
const MAX_QUOTED = 200;

/** `text` on one line, cut at {@link MAX_QUOTED}: a server's words never break the report's lines. */
function quoted(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return clean.length > MAX_QUOTED ? `${clean.slice(0, MAX_QUOTED)}…` : clean;
}

/** `HTTP 401 invalid_client (client authentication failed)`, or `HTTP 500`. */
export function describeAnswer(answer: ProbeAnswer): string {
  const { error, description } = oauthErrorOf(answer);
  const oauth = error ? ` ${quoted(error)}${description ? ` (${quoted(description)})` : ''}` : '';
  return `HTTP ${answer.status}${oauth}`;
}
