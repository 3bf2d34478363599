/**
 * Child process that runs one autocannon load (so the generator can be pinned to its own CPU
 * and does not share the harness's event loop). Usage: node autocannon-child.js <spec.json>;
 * prints one line `BENCH-RESULT {...}`.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { LoadSpec } from './types.js';

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as LoadSpec;
  let next = 0;
  const tokens = spec.tokens;
  const result = await autocannon({
    url: spec.url,
    method: 'POST',
    headers: { ...spec.headers, authorization: `Bearer ${tokens[0]}` },
    body: spec.body,
    connections: spec.connections,
    duration: spec.durationS,
    timeout: 10,
    requests:
      tokens.length > 1
        ? [
            {
              setupRequest(request) {
                const token = tokens[next] as string;
                next = (next + 1) % tokens.length;
                return {
                  ...request,
                  headers: { ...request.headers, authorization: `Bearer ${token}` },
                };
              },
            },
          ]
        : undefined,
  });
  process.stdout.write(
    `BENCH-RESULT ${JSON.stringify({
      requests: result.requests.total,
      duration_s: result.duration,
      errors: result.non2xx + result.errors + result.timeouts,
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
    })}\n`,
  );
}

void main();
