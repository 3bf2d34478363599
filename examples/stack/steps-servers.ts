/**
 * The walkthrough's steps at the example servers themselves: discovery and sign-in, a search, a
 * refusal for missing scope, a step-up to MFA, and a delegated call with token exchange.
 */
import { totpNow, userAccessToken } from '@mcp-iam/dev-idp';
import { callToolWithSignIn, connectWithSignIn, connectWithToken } from '../agent/agent.js';
import { DemoAgentOAuthProvider } from '../agent/oauth-provider.js';
import { challengeParams } from '../agent/recorder.js';
import {
  challengeError,
  expect,
  expectHttpStatus,
  findRequest,
  indent,
  type WalkthroughStep,
} from './walkthrough-step.js';

/** Steps 1 to 5, in order. */
export const SERVER_STEPS: readonly WalkthroughStep[] = [
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
      const metadataFetches = recorder.requests.filter(
        (e) => e.url === metadataUrl || e.url.startsWith(`${stack.issuer}/.well-known/`),
      );
      expect(
        metadataFetches.length === 2,
        `each metadata document should be fetched once, saw ${metadataFetches
          .map((e) => `GET ${e.url}`)
          .join(', ')}`,
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
];
