/**
 * Child process for the crash test: writes records to a strict sink from many concurrent writers
 * and prints each acknowledged record id on its own line, until killed or its time limit passes.
 * Usage: node crash-writer.js SPOOL_DIR [TIME_LIMIT_MS]
 */
import { newRecordId } from '@mcp-iam/core';
import { createAuditSink } from '../sink.js';
import { makeRecord } from './records.js';

const dir = process.argv[2];
const limitMs = Number(process.argv[3] ?? 10_000);
if (dir === undefined) {
  process.stderr.write('usage: crash-writer SPOOL_DIR [TIME_LIMIT_MS]\n');
  process.exit(2);
}

const sink = await createAuditSink({ mode: 'strict', spool: { dir, maxSegmentBytes: 256 * 1024 } });
const deadline = Date.now() + limitMs;
process.stdout.write('ready\n');

async function writer(): Promise<void> {
  while (Date.now() < deadline) {
    const record = makeRecord({ id: newRecordId(), detail: 'crash test' });
    await sink.write(record);
    process.stdout.write(`${record.id}\n`);
  }
}

await Promise.all(Array.from({ length: 64 }, writer));
await sink.close();
