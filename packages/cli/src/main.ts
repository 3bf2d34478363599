/**
 * The `mcp-iam` process: runs the command line with the process's stdout, stderr and signals,
 * then exits with the command's code once everything it wrote has been flushed. Started by
 * bin/mcp-iam.js, or directly as `node packages/cli/dist/main.js`.
 */
import { flushed, processIo } from './io.js';
import { runMcpIam } from './run.js';

const code = await runMcpIam(process.argv.slice(2), processIo());
process.exitCode = code;
// On a pipe, stdout is written asynchronously: exiting before the queued output has reached the
// pipe would cut it short. Once both streams are flushed, exiting explicitly ends the process even
// when a library still holds a handle open (an idle keep-alive socket of `check`'s probes).
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
