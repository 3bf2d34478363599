/**
 * The registry of benchmark rows, in table order. `--rows` selects among them by id.
 */
import { apacheRow } from './apache.js';
import { gatewayRows } from './gateway.js';
import { haproxyRow } from './haproxy.js';
import { bareProxyRow, directRow } from './node-servers.js';
import type { BenchRow } from './types.js';

/** Every row, in table order: direct, bare proxy, the gateway rows, Apache, HAProxy. */
export const ALL_ROWS: readonly BenchRow[] = [
  directRow,
  bareProxyRow,
  ...gatewayRows,
  apacheRow,
  haproxyRow,
];

/** Ids of the rows the summary ratios are taken against. */
export const BASELINE_ROW_IDS = {
  bareProxy: 'bare-proxy',
  apache: 'apache',
  gateway: 'gateway',
} as const;

/**
 * The rows named in `ids` (all rows when `ids` is null), in table order.
 * Throws on an unknown id, listing the known ones.
 */
export function selectRows(ids: readonly string[] | null): BenchRow[] {
  if (ids === null) return [...ALL_ROWS];
  const known = new Set(ALL_ROWS.map((row) => row.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new Error(`unknown row(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  }
  return ALL_ROWS.filter((row) => ids.includes(row.id));
}
