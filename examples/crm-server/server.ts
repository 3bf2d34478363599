/**
 * The CRM example: an MCP server (official SDK, Streamable HTTP, stateless) protected by
 * `@mcp-iam/core`'s Express adapter. Reading contacts needs `crm.read`; updating one needs
 * `crm.write` and a multi-factor sign-in from the last five minutes. Delegated tokens (RFC 8693
 * `act`) are accepted from the insights server and the gateway for reads, and only from the
 * gateway (which forwards the user's own request) for writes. Every result names the caller the
 * server saw.
 */
import { z } from 'zod';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  createAccessTokenVerifier,
  createResourceServer,
  principalOf,
  type AuditSink,
  type Policy,
} from '@mcp-iam/core';
import { describeCaller, summarizeCaller, type CallerSummary } from '../shared/caller.js';
import { serveProtectedMcp } from '../shared/http.js';
import { sampleContacts, searchContacts, type Contact } from './contacts.js';

/** Services allowed to read the CRM on a user's behalf. */
export const CRM_READ_ACTORS = ['insights-server', 'mcp-gateway'] as const;

/** The CRM's policy: who may call which tool, resource and prompt. */
export const CRM_POLICY: Policy = {
  default: 'deny',
  methods: {
    initialize: {},
    ping: {},
    'tools/list': { scopes: ['crm.read'] },
    'resources/list': { scopes: ['crm.read'] },
    'resources/templates/list': { scopes: ['crm.read'] },
    'prompts/list': { scopes: ['crm.read'] },
  },
  tools: {
    search_contacts: { scopes: ['crm.read'], actors: [...CRM_READ_ACTORS], maxDelegationDepth: 2 },
    // Writes: the user's own MFA sign-in, at most five minutes old; only the gateway may relay it.
    update_contact: {
      scopes: ['crm.write'],
      acr: ['mfa'],
      max_age: 300,
      actors: ['mcp-gateway'],
      maxDelegationDepth: 1,
    },
  },
  resources: {
    'crm://contacts/*': {
      scopes: ['crm.read'],
      actors: [...CRM_READ_ACTORS],
      maxDelegationDepth: 2,
    },
  },
  prompts: {
    contact_brief: { scopes: ['crm.read'], actors: [...CRM_READ_ACTORS], maxDelegationDepth: 2 },
  },
};

/** A tool call the CRM served, as the CRM saw the caller. */
export interface CrmCall {
  readonly tool: string;
  readonly caller: CallerSummary | undefined;
}

/** Options of {@link startCrmServer}. */
export interface CrmServerOptions {
  /** Canonical URL of the MCP endpoint, e.g. `http://127.0.0.1:5001/mcp` (the token audience). */
  resource: string;
  /** The IdP's issuer identifier. */
  issuer: string;
  /** Port to listen on (0: any free port). Default: the port of `resource`. */
  port?: number;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Where one audit record per request goes. */
  audit?: { sink: AuditSink; fingerprintKey: string };
}

/** A running CRM server. */
export interface CrmServer {
  readonly port: number;
  readonly resource: string;
  /** Every tool call served, oldest first, with the caller the server saw. */
  readonly calls: readonly CrmCall[];
  close(): Promise<void>;
}

function text(value: string): { content: Array<{ type: 'text'; text: string }> } {
  return { content: [{ type: 'text', text: value }] };
}

function formatContact(c: Contact): string {
  return `${c.id}  ${c.name}, ${c.company}, ${c.email}, ${c.phone}. ${c.note}`;
}

/** Starts the CRM example server. */
export async function startCrmServer(options: CrmServerOptions): Promise<CrmServer> {
  const contacts = sampleContacts();
  const calls: CrmCall[] = [];
  const verifier = createAccessTokenVerifier({
    issuers: [
      { issuer: options.issuer, algorithms: ['ES256', 'RS256'], allowInsecureLoopbackHttp: true },
    ],
  });
  await verifier.start();
  const rs = createResourceServer({
    resource: options.resource,
    authorizationServers: [options.issuer],
    scopesSupported: ['crm.read'],
    resourceName: 'Example CRM',
    verifier,
    policy: CRM_POLICY,
    ...(options.audit ? { audit: { ...options.audit, route: 'crm-server' } } : {}),
  });

  const buildServer = (): McpServer => {
    const server = new McpServer({ name: 'example-crm', version: '1.0.0' });
    server.registerTool(
      'search_contacts',
      {
        description: 'Search contacts by name, company or email.',
        inputSchema: { query: z.string().describe('Text to look for; empty lists everyone.') },
      },
      async ({ query }, extra) => {
        const caller = summarizeCaller(principalOf(extra.authInfo));
        calls.push({ tool: 'search_contacts', caller });
        const found = searchContacts(contacts, query);
        const lines = found.length ? found.map(formatContact) : ['No contact matches.'];
        return text(`${describeCaller(caller)}\n${lines.join('\n')}`);
      },
    );
    server.registerTool(
      'update_contact',
      {
        description: 'Change the phone number or note of a contact.',
        inputSchema: {
          id: z.string().describe('Contact id, e.g. c-001.'),
          phone: z.string().optional(),
          note: z.string().optional(),
        },
      },
      async ({ id, phone, note }, extra) => {
        const caller = summarizeCaller(principalOf(extra.authInfo));
        calls.push({ tool: 'update_contact', caller });
        const contact = contacts.find((c) => c.id === id);
        if (!contact)
          return { ...text(`${describeCaller(caller)}\nNo contact ${id}.`), isError: true };
        if (phone !== undefined) contact.phone = phone;
        if (note !== undefined) contact.note = note;
        return text(`${describeCaller(caller)}\nUpdated: ${formatContact(contact)}`);
      },
    );
    server.registerResource(
      'contact',
      new ResourceTemplate('crm://contacts/{id}', {
        list: async () => ({
          resources: contacts.map((c) => ({ uri: `crm://contacts/${c.id}`, name: c.name })),
        }),
      }),
      { description: 'One contact as text.', mimeType: 'text/plain' },
      async (uri, { id }, extra) => {
        const caller = summarizeCaller(principalOf(extra.authInfo));
        const contact = contacts.find((c) => c.id === String(id));
        return {
          contents: [
            {
              uri: uri.href,
              mimeType: 'text/plain',
              text: `${describeCaller(caller)}\n${contact ? formatContact(contact) : 'Not found.'}`,
            },
          ],
        };
      },
    );
    server.registerPrompt(
      'contact_brief',
      {
        description: 'Prepare a short briefing before calling a contact.',
        argsSchema: { id: z.string().describe('Contact id, e.g. c-002.') },
      },
      ({ id }) => {
        const contact = contacts.find((c) => c.id === id);
        return {
          messages: [
            {
              role: 'user',
              content: {
                type: 'text',
                text: contact
                  ? `Write a three-line briefing for a call with ${contact.name} of ${contact.company}. Notes: ${contact.note}`
                  : `There is no contact ${id}; say so.`,
              },
            },
          ],
        };
      },
    );
    return server;
  };

  const http = await serveProtectedMcp(rs, buildServer, {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  });
  return {
    port: http.port,
    resource: options.resource,
    calls,
    close: async () => {
      await http.close();
      verifier.close();
    },
  };
}
