/** Runs the notes example over stdio (newline-delimited JSON-RPC on stdin/stdout). */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createNotesServer } from './notes.js';

await createNotesServer().connect(new StdioServerTransport());
