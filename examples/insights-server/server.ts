/**
 * The insights example: an MCP server whose `account_summary` tool reads the CRM on behalf of the
 * calling user. It never forwards the caller's token: it exchanges it at the IdP (RFC 8693,
 * `@mcp-iam/core`'s token exchange client) for a new token whose audience is the CRM and whose
 * `act` claim names this server, then calls the CRM with the official SDK client.
 */
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  createAccessTokenVerifier,
  createResourceServer,
  createTokenExchangeClient,
  principalOf,
  type AuditSink,
  type Policy,
} from '@mcp-iam/core';
import { describeCaller, summarizeCaller } from '../shared/caller.js';
import { serveProtectedMcp } from '../shared/http.js';

/** The insights server's policy. Delegated calls are accepted from the gateway only. */
export const INSIGHTS_POLICY: Policy = {
  default: 'deny',
  methods: { initialize: {}, ping: {}, 'tools/list': { scopes: ['insights.read'] } },
  tools: {
    account_summary: { scopes: ['insights.read'], actors: ['mcp-gateway'], maxDelegationDepth: 1 },
  },
};

/** Options of {@link startInsightsServer}. */
export interface InsightsServerOptions {
  /** Canonical URL of this MCP endpoint, e.g. `http://127.0.0.1:5002/mcp`. */
  resource: string;
  /** Canonical URL of the CRM's MCP endpoint (the audience of exchanged tokens). */
  crmResource: string;
  /** The IdP's issuer identifier. */
  issuer: string;
  /** This server's client at the IdP (default `insights-server`). */
  clientId?: string;
  /** Its client secret. */
  clientSecret: string;
  /** Port to listen on (0: any free port). Default: the port of `resource`. */
  port?: number;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Where one audit record per request goes. */
  audit?: { sink: AuditSink; fingerprintKey: string };
}

/** A running insights server. */
export interface InsightsServer {
  readonly port: number;
  readonly resource: string;
  close(): Promise<void>;
}

function text(value: string, isError = false) {
  return { content: [{ type: 'text' as const, text: value }], ...(isError ? { isError } : {}) };
}

/** Starts the insights example server. */
export async function startInsightsServer(options: InsightsServerOptions): Promise<InsightsServer> {
  const verifier = createAccessTokenVerifier({
    issuers: [
      { issuer: options.issuer, algorithms: ['ES256', 'RS256'], allowInsecureLoopbackHttp: true },
    ],
  });
  await verifier.start();
  const rs = createResourceServer({
    resource: options.resource,
    authorizationServers: [options.issuer],
    scopesSupported: ['insights.read', 'crm.read'],
    resourceName: 'Example insights',
    verifier,
    policy: INSIGHTS_POLICY,
    ...(options.audit ? { audit: { ...options.audit, route: 'insights-server' } } : {}),
  });
  const exchange = createTokenExchangeClient({
    issuer: options.issuer,
    clientId: options.clientId ?? 'insights-server',
    clientAuth: { method: 'client_secret_basic', clientSecret: options.clientSecret },
    allowInsecureLoopbackHttp: true,
  });

  /** Calls the CRM's search tool with a token obtained for the CRM on the user's behalf. */
  async function searchCrm(subjectToken: string, company: string): Promise<string> {
    const { accessToken } = await exchange.exchange({
      subjectToken,
      resource: options.crmResource,
      scope: 'crm.read',
    });
    const client = new Client({ name: 'insights-server', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(options.crmResource), {
      requestInit: { headers: { Authorization: `Bearer ${accessToken}` } },
    });
    await client.connect(transport);
    try {
      const result = await client.callTool({
        name: 'search_contacts',
        arguments: { query: company },
      });
      const content = result.content as Array<{ type: string; text?: string }>;
      return content.map((c) => c.text ?? '').join('\n');
    } finally {
      await client.close();
    }
  }

  const buildServer = (): McpServer => {
    const server = new McpServer({ name: 'example-insights', version: '1.0.0' });
    server.registerTool(
      'account_summary',
      {
        description: 'Summarise an account from the CRM contacts of a company.',
        inputSchema: { company: z.string().describe('Company name, e.g. Analytical Engines.') },
      },
      async ({ company }, extra) => {
        const caller = summarizeCaller(principalOf(extra.authInfo));
        const token = extra.authInfo?.token;
        if (!token) return text('No caller token.', true);
        let crmAnswer: string;
        try {
          crmAnswer = await searchCrm(token, company);
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          return text(
            `${describeCaller(caller)}\nThe CRM could not be read on your behalf (${typeof code === 'string' ? code : 'error'}).`,
            true,
          );
        }
        const [crmSaw = '', ...rows] = crmAnswer.split('\n');
        const contacts = rows.filter((r) => /^c-\d+/.test(r));
        return text(
          [
            `${describeCaller(caller)}`,
            `Account ${company}: ${contacts.length} contact(s) in the CRM.`,
            ...contacts.map((r) => `  ${r}`),
            `The CRM saw: ${crmSaw}`,
          ].join('\n'),
        );
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
    close: async () => {
      await http.close();
      verifier.close();
    },
  };
}
