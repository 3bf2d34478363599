/**
 * The correctness check: send every row the same tokens (one valid, the rest each breaking one
 * rule) and record which bad ones it wrongly accepts. A 2xx answer counts as accepted.
 */
import { MCP_REQUEST_HEADERS, TOOLS_CALL_BODY } from './mcp.js';
import { TOKEN_KINDS, type TokenKind } from './tokens.js';

/** How a row handled one token. */
export type Verdict =
  /** The valid token was accepted, or a bad one rejected: correct. */
  | 'correct'
  /** A bad token was accepted. */
  | 'wrongly-accepted'
  /** The valid token was rejected: the row is misconfigured. */
  | 'wrongly-rejected'
  /** The row has no such token (e.g. `alg-none` for an opaque token). */
  | 'not-applicable'
  /** No HTTP answer. */
  | 'error';

/** One cell of the correctness table. */
export interface CorrectnessCell {
  readonly kind: TokenKind;
  /** HTTP status, or null without an answer. */
  readonly status: number | null;
  readonly verdict: Verdict;
}

/** Classifies an answer: `status` null means no answer; `applicable` false means no such token. */
export function classify(kind: TokenKind, status: number | null, applicable = true): Verdict {
  if (!applicable) return 'not-applicable';
  if (status === null) return 'error';
  const accepted = status >= 200 && status < 300;
  if (kind === 'valid') return accepted ? 'correct' : 'wrongly-rejected';
  return accepted ? 'wrongly-accepted' : 'correct';
}

/**
 * POSTs the MCP `tools/call` to `url` once per token kind, with the token `tokenFor` returns
 * (null: not applicable), and classifies each answer.
 */
export async function checkCorrectness(
  url: string,
  tokenFor: (kind: TokenKind) => Promise<string | null>,
): Promise<CorrectnessCell[]> {
  const cells: CorrectnessCell[] = [];
  for (const kind of TOKEN_KINDS) {
    const token = await tokenFor(kind);
    if (token === null) {
      cells.push({ kind, status: null, verdict: classify(kind, null, false) });
      continue;
    }
    let status: number | null = null;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...MCP_REQUEST_HEADERS, authorization: `Bearer ${token}` },
        body: TOOLS_CALL_BODY,
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      status = response.status;
    } catch {
      status = null;
    }
    cells.push({ kind, status, verdict: classify(kind, status) });
  }
  return cells;
}
