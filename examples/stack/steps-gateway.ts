/**
 * The walkthrough's steps through the gateway and after: a person and a machine behind the
 * gateway, a disabled user, and the audit trail of everything that happened.
 */
import { refreshAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import type { AuditRecord } from '@mcp-iam/core';
import { clientCredentialsToken, totpNow, DEV_CLIENTS } from '@mcp-iam/dev-idp';
import {
  callToolWithSignIn,
  connectAsMachine,
  connectWithSignIn,
  connectWithToken,
  nightlySyncProvider,
  toolText,
} from '../agent/agent.js';
import { DemoAgentOAuthProvider } from '../agent/oauth-provider.js';
import { auditLegend, auditTable, stackAuditRecords } from './audit-trail.js';
import {
  describeError,
  expect,
  indent,
  requireGateway,
  StepFailure,
  type WalkthroughStep,
} from './walkthrough-step.js';

/** Steps 6 to 9, in order. */
export const GATEWAY_STEPS: readonly WalkthroughStep[] = [
  {
    id: 'gateway-crm',
    title: 'Alice reaches the CRM through the gateway',
    needsGateway: true,
    async run(context, recorder) {
      requireGateway(context);
      const { stack } = context;
      expect(context.alice, 'alice is not signed in (the first step failed)');
      const provider = new DemoAgentOAuthProvider({
        issuer: stack.issuer,
        user: 'alice',
        password: 'alice',
        otp: () => totpNow('alice'),
        cookies: context.alice.provider.cookies,
        log: (line) => recorder.note(line),
      });
      recorder.note("alice's agent connects to the gateway's /crm/mcp route without a token");
      const session = await connectWithSignIn(stack.urls.gatewayCrm, provider, recorder);
      context.sessions.push(session);
      const first = recorder.requests[0];
      expect(first?.status === 401, 'the gateway should answer 401 without a token');
      const before = stack.crm.calls.length;
      const text = await callToolWithSignIn(session, provider, recorder, 'search_contacts', {
        query: 'orbital',
      });
      const seen = stack.crm.calls.slice(before).at(-1);
      expect(seen?.caller?.subject === 'alice', 'the CRM should see subject alice');
      expect(
        seen.caller.actorChain[0] === 'mcp-gateway',
        `the CRM should see actor mcp-gateway, saw ${seen.caller.actorChain.join(' < ') || 'none'}`,
      );
      return [
        'search_contacts via the gateway answered:',
        ...indent(text),
        '✓ the gateway exchanged the token; the CRM saw alice via mcp-gateway',
      ];
    },
  },
  {
    id: 'nightly-sync-notes',
    title: 'nightly-sync (a machine) writes notes through the gateway with an opaque token',
    needsGateway: true,
    async run(context, recorder) {
      requireGateway(context);
      const { stack } = context;
      recorder.note(
        'nightly-sync connects to /notes/mcp; on the 401 the SDK gets a token with client credentials, signing its request with its private key (private_key_jwt)',
      );
      const provider = nightlySyncProvider(stack.issuer);
      const session = await connectAsMachine(stack.urls.gatewayNotes, provider, recorder);
      context.sessions.push(session);
      const token = provider.tokens()?.access_token ?? '';
      expect(
        token && !token.includes('.'),
        'the notes token should be opaque (the gateway introspects it)',
      );
      recorder.note('its token is opaque: the gateway asks the IdP about it (introspection)');
      const note = `Sync finished at ${new Date().toISOString()}`;
      const added = toolText(
        await session.client.callTool({ name: 'add_note', arguments: { text: note } }),
      );
      const listed = toolText(await session.client.callTool({ name: 'list_notes', arguments: {} }));
      expect(listed.includes(note), 'list_notes should show the note just added');

      recorder.note(
        'ci-bot, another machine, lists notes on the same route: it gets its own process',
      );
      const ci = await clientCredentialsToken({
        issuer: stack.issuer,
        clientId: DEV_CLIENTS.ciBot.clientId,
        clientSecret: DEV_CLIENTS.ciBot.clientSecret,
        scope: 'notes.read',
        resource: stack.urls.gatewayNotes,
      });
      const ciSession = await connectWithToken(stack.urls.gatewayNotes, ci.access_token, recorder);
      context.sessions.push(ciSession);
      const ciListed = toolText(
        await ciSession.client.callTool({ name: 'list_notes', arguments: {} }),
      );
      expect(
        !ciListed.includes(note),
        "ci-bot must not see nightly-sync's notes (per-subject isolation)",
      );
      return [
        'add_note answered:',
        ...indent(added),
        'list_notes (nightly-sync) answered:',
        ...indent(listed),
        'list_notes (ci-bot) answered:',
        ...indent(ciListed),
        '✓ opaque token introspected; each subject has its own notes process',
      ];
    },
  },
  {
    id: 'disabled-user',
    title: 'An administrator disables bob: his refresh token stops working',
    needsGateway: false,
    async run(context, recorder) {
      const { stack } = context;
      const refreshToken = context.bobRefreshToken;
      expect(refreshToken, 'bob has no refresh token (the bob step failed)');
      stack.idp.disableUser('bob');
      recorder.note('the IdP administrator disables bob');
      try {
        await refreshAuthorization(stack.issuer, {
          clientInformation: { client_id: DEV_CLIENTS.demoAgent.clientId },
          refreshToken,
          resource: new URL(stack.urls.crm),
          fetchFn: recorder.fetch,
        });
        throw new StepFailure("bob's refresh token still worked after he was disabled");
      } catch (error) {
        if (error instanceof StepFailure) throw error;
        const code = (error as { constructor: { errorCode?: string } }).constructor.errorCode;
        expect(
          code === 'invalid_grant',
          `the refresh should fail with invalid_grant, got ${describeError(error)}`,
        );
      } finally {
        stack.idp.enableUser('bob');
      }
      recorder.note('bob is enabled again, so you can try him yourself afterwards');
      return ['✓ refresh refused with invalid_grant: no new tokens for a disabled user'];
    },
  },
  {
    id: 'audit-trail',
    title: 'The audit trail: one record per request, allowed or denied',
    needsGateway: false,
    async run(context) {
      const records = await stackAuditRecords(context.stack);
      const crm = records.filter((r) => r.route === 'crm-server');
      const has = (predicate: (r: AuditRecord) => boolean, what: string): void =>
        expect(records.some(predicate), `the audit trail should hold ${what}`);
      has(
        (r) => r.route === 'crm-server' && r.reason === 'missing_token',
        'the 401 without a token',
      );
      has(
        (r) =>
          r.subject === 'bob' && r.tool === 'update_contact' && r.reason === 'insufficient_scope',
        "bob's refused update",
      );
      has(
        (r) =>
          r.subject === 'alice' &&
          r.tool === 'update_contact' &&
          r.reason === 'insufficient_user_authentication',
        "alice's step-up challenge",
      );
      has(
        (r) =>
          r.subject === 'alice' &&
          r.tool === 'update_contact' &&
          r.outcome === 'allow' &&
          r.acr === 'mfa',
        "alice's allowed MFA update",
      );
      has(
        (r) =>
          r.route === 'crm-server' &&
          r.outcome === 'allow' &&
          r.actorChain?.[0] === 'insights-server',
        "the CRM's record of the delegated call from insights-server",
      );
      if (context.stack.gateway) {
        has(
          (r) =>
            r.route === 'gateway/notes' && r.subject === 'nightly-sync' && r.tool === 'add_note',
          "the gateway's record of nightly-sync's add_note",
        );
        has(
          (r) => r.route === 'gateway/crm' && r.reason === 'missing_token',
          "the gateway's 401 without a token",
        );
      }
      expect(!JSON.stringify(records).includes('eyJ'), 'no record may contain a token');
      const withoutStatus = records.filter((r) => r.outcome === 'allow' && r.status === undefined);
      expect(
        withoutStatus.length === 0,
        `every allowed request should be recorded with the status it got; ${withoutStatus
          .map((r) => `${r.route ?? ''} ${r.method ?? ''}`)
          .join(', ')} has none`,
      );
      const lines = auditTable(records);
      const sources = context.stack.gateway
        ? 'crm-server, insights-server and the gateway'
        : 'crm-server and insights-server';
      return [
        `${records.length} records (${crm.length} from the CRM) from ${sources}, one per HTTP request:`,
        ...lines.map((l) => `  ${l}`),
        '',
        ...auditLegend(records),
      ];
    },
  },
];
