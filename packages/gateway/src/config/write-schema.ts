/**
 * Writes docs/gateway.schema.json from the zod schema (`npm run schema -w @mcp-iam/gateway`).
 * A test fails when the committed file differs from what this script would write.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gatewayJsonSchema } from './json-schema.js';

/** Location of the published schema, relative to this compiled file (dist/config/). */
export const SCHEMA_FILE = fileURLToPath(
  new URL('../../../../docs/gateway.schema.json', import.meta.url),
);

async function main(): Promise<void> {
  let text = `${JSON.stringify(gatewayJsonSchema(), null, 2)}\n`;
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(SCHEMA_FILE)) ?? {};
    text = await prettier.format(text, { ...options, filepath: SCHEMA_FILE });
  } catch {
    // Without prettier the plain JSON.stringify output is written; it is the same document.
  }
  await writeFile(SCHEMA_FILE, text);
  console.log(`wrote ${SCHEMA_FILE}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
