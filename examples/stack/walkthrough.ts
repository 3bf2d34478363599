/**
 * The demo's walkthrough: each step is a function that does one thing a newcomer should see
 * (a request without a token, a sign-in, a refusal, a step-up, a delegated call, a machine client
 * behind the gateway, a disabled user, the audit trail), records what went over the wire, and
 * checks that every answer was the expected one. `npm start`, `npm run demo` and the test run the
 * same steps.
 */
import { refreshAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { querySpool, escapeForTerminal } from '@mcp-iam/audit';
import type { AuditRecord } from '@mcp-iam/core';
import { clientCredentialsToken, totpNow, userAccessToken, DEV_CLIENTS } from '@mcp-iam/dev-idp';
import {
  callToolWithSignIn,
  connectAsMachine,
  connectWithSignIn,
  connectWithToken,
  nightlySyncProvider,
  toolText,
  type AgentSession,
} from '../agent/agent.js';
import { DemoAgentOAuthProvider } from '../agent/oauth-provider.js';
import {
  HttpRecorder,
  challengeParams,
  type HttpEvent,
  type RecordedEvent,
} from '../agent/recorder.js';
import type { Stack } from './stack.js';

/** A step did not behave as expected. */
export class StepFailure extends Error {
  override name = 'StepFailure';
}

/** What the steps share: the stack, and the sessions earlier steps opened. */
export interface WalkthroughContext {
  readonly stack: Stack;
  alice?: { provider: DemoAgentOAuthProvider; session: AgentSession };
  bobRefreshToken?: string;
  readonly sessions: AgentSession[];
}

/** One walkthrough step. */
export interface WalkthroughStep {
  /** Stable identifier, used in failure messages and tests. */
  readonly id: string;
  readonly title: string;
  /** Whether the step goes through the gateway. */
  readonly needsGateway: boolean;
  /** Runs the step, narrating into `recorder`; returns result lines; throws {@link StepFailure}. */
  run(context: WalkthroughContext, recorder: HttpRecorder): Promise<string[]>;
}

/** The outcome of one step. */
export interface StepResult {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  /** The story of the step: requests, answers, notes, results. */
  readonly lines: readonly string[];
  /** Why the step failed. */
  readonly problem?: string;
}

function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new StepFailure(message);
}

function requireGateway(context: WalkthroughContext): void {
  if (!context.stack.gateway) {
    throw new StepFailure(
      `this step needs the gateway, which is not running: ${context.stack.gatewayProblem ?? 'unknown reason'}`,
    );
  }
}

function findRequest(
  recorder: HttpRecorder,
  predicate: (e: HttpEvent) => boolean,
  what: string,
): HttpEvent {
  const found = recorder.requests.find(predicate);
  expect(found, `expected ${what}, but the client never saw it`);
  return found;
}

function challengeError(e: HttpEvent): string | undefined {
  return challengeParams(e.challenge).get('error');
}

function indent(text: string): string[] {
  return text.split('\n').map((line) => `    ${line}`);
}

async function expectHttpStatus(
  promise: Promise<unknown>,
  status: number,
  what: string,
): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StreamableHTTPError && error.code === status) return;
    throw new StepFailure(`${what}: expected HTTP ${status}, got ${describeError(error)}`);
  }
  throw new StepFailure(`${what}: expected HTTP ${status}, but the call succeeded`);
}

function describeError(error: unknown): string {
  if (error instanceof StreamableHTTPError) return `HTTP ${error.code ?? '?'}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function auditRecords(stack: Stack): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for (const dir of [stack.auditDirs.crm, stack.auditDirs.insights]) {
    all.push(...(await querySpool(dir, { order: 'asc', limit: 10_000 })));
  }
  if (stack.gateway) {
    // The gateway names records after its routes; show them as gateway/<route>.
    const records = await querySpool(stack.auditDirs.gateway, { order: 'asc', limit: 10_000 });
    all.push(...records.map((r) => ({ ...r, route: `gateway/${r.route ?? ''}` })));
  }
  return all.sort((a, b) => a.time.localeCompare(b.time));
}

/** Audit records as a plain text table (time of day, where, outcome, reason, who, what). */
export function auditTable(records: readonly AuditRecord[]): string[] {
  const columns: Array<[string, (r: AuditRecord) => unknown]> = [
    ['TIME', (r) => r.time.slice(11, 23)],
    ['WHERE', (r) => r.route],
    ['OUTCOME', (r) => r.outcome],
    ['REASON', (r) => r.reason],
    ['SUBJECT', (r) => r.subject],
    ['CLIENT', (r) => r.clientId],
    ['VIA', (r) => r.actorChain?.join(' < ')],
    ['ACR', (r) => r.acr],
    ['OPERATION', (r) => [r.method, r.tool ?? r.resource ?? r.prompt].filter(Boolean).join(' ')],
    ['STATUS', (r) => r.status],
  ];
  const rows = [
    columns.map(([name]) => name),
    ...records.map((r) => columns.map(([, get]) => escapeForTerminal(get(r) ?? ''))),
  ];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** The walkthrough, in order. */
export const WALKTHROUGH: readonly WalkthroughStep[] = [
  {
    id: 'discovery',
    title: 'No token: the CRM answers 401 and the client discovers where to sign in',
    needsGateway: false,
    async run(context, recorder) {
      const { stack } = context;
      recorder.note(
        "alice's agent (the official MCP SDK client) connects to the CRM without a token",
      );
      const provider = new DemoAgentOAuthProvider({
        issuer: stack.issuer,
        user: 'alice',
        password: 'alice',
        otp: () => totpNow('alice'),
        log: (line) => recorder.note(line),
      });
      const session = await connectWithSignIn(stack.urls.crm, provider, recorder);
      context.sessions.push(session);
      context.alice = { provider, session };
      const first = recorder.requests[0];
      expect(first && !first.withToken && first.status === 401, 'the first request should get 401');
      const metadataUrl = challengeParams(first.challenge).get('resource_metadata');
      expect(metadataUrl, 'the 401 should name resource_metadata in WWW-Authenticate');
      findRequest(
        recorder,
        (e) => e.method === 'GET' && e.url === metadataUrl && e.status === 200,
        'the protected resource metadata (RFC 9728) to be fetched',
      );
      findRequest(
        recorder,
        (e) => e.url.startsWith(`${stack.issuer}/.well-known/`) && e.status === 200,
        "the IdP's metadata (RFC 8414) to be fetched",
      );
      findRequest(
        recorder,
        (e) => e.method === 'POST' && e.url.startsWith(`${stack.issuer}/token`) && e.status === 200,
        'the authorization code to be redeemed',
      );
      findRequest(
        recorder,
        (e) => e.withToken && e.rpc === 'initialize' && e.status === 200,
        'initialize to succeed with the token',
      );
      return ['✓ 401 → metadata → IdP metadata → sign-in with PKCE → token → connected'];
    },
  },
  {
    id: 'alice-search',
    title: 'Alice searches the CRM',
    needsGateway: false,
    async run(context, recorder) {
      const alice = context.alice;
      expect(alice, 'alice is not signed in (the previous step failed)');
      const text = await callToolWithSignIn(
        alice.session,
        alice.provider,
        recorder,
        'search_contacts',
        {
          query: 'engines',
        },
      );
      const seen = context.stack.crm.calls.at(-1);
      expect(seen?.caller?.subject === 'alice', 'the CRM should see subject alice');
      expect(seen.caller.clientId === 'demo-agent', 'the CRM should see client demo-agent');
      expect(seen.caller.actorChain.length === 0, 'the CRM should see no actor');
      return [
        'search_contacts answered:',
        ...indent(text),
        '✓ the CRM saw alice, client demo-agent, no actor',
      ];
    },
  },
  {
    id: 'bob-update-denied',
    title: 'Bob (read-only token, password only) tries to update a contact: 403 insufficient_scope',
    needsGateway: false,
    async run(context, recorder) {
      const { stack } = context;
      const bob = await userAccessToken({
        issuer: stack.issuer,
        user: 'bob',
        password: 'bob',
        scope: 'crm.read',
        resource: stack.urls.crm,
      });
      context.bobRefreshToken = bob.refresh_token;
      recorder.note(
        `bob signs in with his password and gets a token with scope "${bob.scope ?? ''}"`,
      );
      const session = await connectWithToken(stack.urls.crm, bob.access_token, recorder);
      context.sessions.push(session);
      const before = stack.crm.calls.length;
      await expectHttpStatus(
        session.client.callTool({
          name: 'update_contact',
          arguments: { id: 'c-001', note: 'bob was here' },
        }),
        403,
        'update_contact as bob',
      );
      const denied = recorder.requests.at(-1);
      expect(
        denied && challengeError(denied) === 'insufficient_scope',
        'the 403 should say insufficient_scope',
      );
      expect(
        challengeParams(denied.challenge).get('scope') === 'crm.write',
        'the challenge should name the scope crm.write',
      );
      expect(stack.crm.calls.length === before, 'the tool must not have run');
      recorder.note(
        "bob's agent stops: his token does not carry crm.write, and the tool never ran",
      );
      return ['✓ 403 insufficient_scope, scope="crm.write"; the contact is unchanged'];
    },
  },
  {
    id: 'alice-step-up',
    title: 'Alice updates a contact: wider scope, then a step-up to MFA',
    needsGateway: false,
    async run(context, recorder) {
      const alice = context.alice;
      expect(alice, 'alice is not signed in (the first step failed)');
      const text = await callToolWithSignIn(
        alice.session,
        alice.provider,
        recorder,
        'update_contact',
        {
          id: 'c-002',
          note: 'Renewal confirmed by phone.',
        },
      );
      const requests = recorder.requests;
      expect(
        requests.some((e) => e.status === 403 && challengeError(e) === 'insufficient_scope'),
        'the first attempt should get 403 insufficient_scope (crm.write)',
      );
      const stepUp = requests.find(
        (e) => e.status === 401 && challengeError(e) === 'insufficient_user_authentication',
      );
      expect(
        stepUp,
        'a call with a password-only token should get 401 insufficient_user_authentication',
      );
      expect(
        challengeParams(stepUp.challenge).get('acr_values') === 'mfa',
        'the step-up should ask for acr mfa',
      );
      const seen = context.stack.crm.calls.at(-1);
      expect(
        seen?.tool === 'update_contact' && seen.caller?.subject === 'alice',
        'the update should have run as alice',
      );
      expect(seen.caller.acr === 'mfa', 'the update should run with an MFA token');
      return [
        'update_contact answered:',
        ...indent(text),
        '✓ 403 scope → new token → 401 step-up → MFA sign-in → updated',
      ];
    },
  },
  {
    id: 'insights-exchange',
    title: "The insights server reads the CRM on alice's behalf (token exchange)",
    needsGateway: false,
    async run(context, recorder) {
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
      recorder.note(
        "alice's agent connects to the insights server (discovery again, IdP session reused)",
      );
      const session = await connectWithSignIn(stack.urls.insights, provider, recorder);
      context.sessions.push(session);
      const before = stack.crm.calls.length;
      recorder.note(
        "insights exchanges alice's token at the IdP for one whose audience is the CRM and calls it",
      );
      const text = await callToolWithSignIn(session, provider, recorder, 'account_summary', {
        company: 'Analytical Engines',
      });
      const seen = stack.crm.calls.slice(before).at(-1);
      expect(seen?.caller?.subject === 'alice', 'the CRM should see subject alice');
      expect(
        seen.caller.clientId === 'insights-server',
        'the CRM should see client insights-server',
      );
      expect(
        seen.caller.actorChain.join(',') === 'insights-server',
        `the CRM should see actor insights-server, saw ${seen.caller.actorChain.join(' < ') || 'none'}`,
      );
      return [
        'account_summary answered:',
        ...indent(text),
        "✓ the CRM saw alice, acting through insights-server (act claim); alice's own token never left insights",
      ];
    },
  },
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
      const records = await auditRecords(context.stack);
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
      const lines = auditTable(records);
      const sources = context.stack.gateway
        ? 'crm-server, insights-server and the gateway'
        : 'crm-server and insights-server';
      return [
        `${records.length} records (${crm.length} from the CRM) from ${sources}:`,
        ...lines.map((l) => `  ${l}`),
      ];
    },
  },
];

function eventLines(events: readonly RecordedEvent[]): string[] {
  const lines: string[] = [];
  for (const e of events) {
    // Protocol housekeeping (the optional event stream probe, the initialized notification) is
    // left out of the story; the audit trail still lists it.
    if (e.kind === 'http' && e.method === 'GET' && e.status === 405) continue;
    if (e.kind === 'http' && e.rpc === 'notifications/initialized' && e.status === 202) continue;
    if (e.kind === 'note') {
      lines.push(`· ${e.text}`);
      continue;
    }
    const what = e.rpc ? `  ${e.rpc}` : '';
    lines.push(`→ ${e.method} ${e.url}${what}${e.withToken ? '  (with token)' : ''}`);
    lines.push(`← ${e.status}${e.challenge ? `  WWW-Authenticate: ${e.challenge}` : ''}`);
  }
  return lines;
}

/** Options of {@link runWalkthrough}. */
export interface WalkthroughOptions {
  /** Called after each step (to print it as it happens). */
  onStep?: (result: StepResult, index: number, total: number) => void;
  /** Longest time one step may take (default 30 s). */
  stepTimeoutMs?: number;
}

/** Runs every step against `stack`, in order, and returns their results. Never throws. */
export async function runWalkthrough(
  stack: Stack,
  options: WalkthroughOptions = {},
): Promise<StepResult[]> {
  const context: WalkthroughContext = { stack, sessions: [] };
  const results: StepResult[] = [];
  const timeoutMs = options.stepTimeoutMs ?? 30_000;
  // One recorder for the whole walkthrough, emptied before each step: sessions opened in one
  // step keep narrating into it in the next.
  const recorder = new HttpRecorder();
  try {
    for (const [index, step] of WALKTHROUGH.entries()) {
      recorder.reset();
      let result: StepResult;
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new StepFailure(`no result within ${timeoutMs} ms`)),
            timeoutMs,
          );
        });
        const lines = await Promise.race([step.run(context, recorder), timeout]);
        result = {
          id: step.id,
          title: step.title,
          ok: true,
          lines: [...eventLines(recorder.events), ...lines],
        };
      } catch (error) {
        const problem =
          error instanceof StepFailure
            ? error.message
            : `unexpected error: ${describeError(error)}`;
        result = {
          id: step.id,
          title: step.title,
          ok: false,
          lines: eventLines(recorder.events),
          problem,
        };
      } finally {
        clearTimeout(timer);
      }
      results.push(result);
      options.onStep?.(result, index, WALKTHROUGH.length);
    }
  } finally {
    for (const session of context.sessions) await session.close().catch(() => undefined);
  }
  return results;
}

/** The walkthrough's results as printable lines (step header, story, verdict). */
export function formatStep(result: StepResult, index: number, total: number): string[] {
  const header = `━━ Step ${index + 1} of ${total} · ${result.title}`;
  const verdict = result.ok ? [] : [`✗ Not as expected (${result.id}): ${result.problem ?? ''}`];
  return ['', header, ...result.lines.map((l) => `  ${l}`), ...verdict.map((l) => `  ${l}`)];
}
