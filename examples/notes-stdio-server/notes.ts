/**
 * The notes example: a tiny MCP server without any authentication of its own (tools `list_notes`
 * and `add_note`, notes kept in memory for the life of the process). It is meant to run behind the
 * gateway over stdio; the gateway authenticates callers and, with `isolation: per-subject`, gives
 * each caller its own process, so one caller never sees another's notes.
 */
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

/** Builds the notes server; `notes` is its storage (a new array per process). */
export function createNotesServer(notes: string[] = []): McpServer {
  const server = new McpServer({ name: 'example-notes', version: '1.0.0' });
  server.registerTool(
    'list_notes',
    { description: 'List the notes kept by this server process.', inputSchema: {} },
    () => ({
      content: [
        {
          type: 'text',
          text: notes.length
            ? notes.map((n, i) => `${i + 1}. ${n}`).join('\n')
            : `No notes yet (process ${process.pid}).`,
        },
      ],
    }),
  );
  server.registerTool(
    'add_note',
    {
      description: 'Add a note.',
      inputSchema: { text: z.string().min(1).max(1000).describe('The note.') },
    },
    ({ text }) => {
      notes.push(text);
      return {
        content: [{ type: 'text', text: `Saved note ${notes.length} (process ${process.pid}).` }],
      };
    },
  );
  return server;
}
