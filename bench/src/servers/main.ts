/**
 * Entry point for the harness's own server processes, so that each one runs (and is measured
 * and pinned) as a separate process:
 *   node bench/dist/servers/main.js fixed-upstream
 *   node bench/dist/servers/main.js bare-proxy <upstream-origin>
 * Each prints one JSON line `{"port":N}` on stdout once it listens on 127.0.0.1.
 */
import { startBareProxy } from './bare-proxy.js';
import { startFixedUpstream } from './fixed-upstream.js';

async function main(): Promise<void> {
  const [kind, upstream] = process.argv.slice(2);
  let port: number;
  if (kind === 'fixed-upstream') {
    port = (await startFixedUpstream()).port;
  } else if (kind === 'bare-proxy' && upstream) {
    port = (await startBareProxy(upstream)).port;
  } else {
    console.error('usage: main.js fixed-upstream | bare-proxy <upstream-origin>');
    process.exit(2);
  }
  // Exit promptly on stop so CPU figures are not disturbed by a slow shutdown; through
  // process.exit, so that `node --cpu-prof` writes its profile. Installed before the port is
  // announced: the harness may stop the process as soon as it reads that line.
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

void main();
