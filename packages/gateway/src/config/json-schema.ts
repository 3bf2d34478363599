/**
 * The JSON Schema of the configuration file, generated from the zod schema so editors can validate
 * and complete gateway.yaml. docs/gateway.schema.json is this document, written by `npm run schema`.
 */
import { z } from 'zod';
import { gatewayConfigSchema } from './schema.js';

/**
 * Generates the JSON Schema (draft 2020-12) of the configuration as written by people (defaults are
 * optional), with `additionalProperties: false` on every object.
 *
 * @example
 * ```ts
 * writeFileSync('gateway.schema.json', JSON.stringify(gatewayJsonSchema(), null, 2));
 * ```
 */
export function gatewayJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(gatewayConfigSchema, { io: 'input', target: 'draft-2020-12' });
  return { title: 'mcp-iam gateway configuration', ...generated };
}
