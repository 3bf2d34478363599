// Specifies which redirect URIs `demo-agent` may use (the loopback callback of `mcp-iam token` and
// the MCP Inspector's callbacks) and that a refused one is reported in the IdP's log, naming the
// client and the URI, since the browser is the only other place that shows it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { MCP_INSPECTOR_REDIRECT_URIS } from '../fixtures/defaults.js';
import { headlessLogin, pkceChallenge } from '../headless/login.js';
import { startDevIdp, type DevIdp } from '../server.js';

/** Sends an authorization request as a browser would and returns the status of the answer. */
async function authorize(idp: DevIdp, clientId: string, redirectUri: string): Promise<number> {
  const url = new URL(idp.endpoints.authorization);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('scope', 'openid');
  url.searchParams.set('code_challenge', pkceChallenge(randomBytes(32).toString('base64url')));
  url.searchParams.set('code_challenge_method', 'S256');
  const response = await fetch(url, { redirect: 'manual' });
  await response.body?.cancel();
  return response.status;
}

describe('demo-agent redirect URIs', () => {
  let idp: DevIdp;
  const logged: string[] = [];
  before(async () => {
    idp = await startDevIdp({ port: 0, log: (line) => logged.push(line) });
  });
  after(() => idp.close());

  for (const redirectUri of MCP_INSPECTOR_REDIRECT_URIS) {
    it(`the MCP Inspector's callback ${redirectUri} is registered: a sign-in redirects there with a code`, async () => {
      const result = await headlessLogin({
        issuer: idp.issuer,
        clientId: 'demo-agent',
        redirectUri,
        user: 'alice',
        password: 'alice',
        scope: 'openid',
        codeVerifier: randomBytes(32).toString('base64url'),
      });
      assert.ok(result.code);
      assert.equal(result.iss, idp.issuer);
    });
  }

  it('the loopback callback of mcp-iam token is accepted on any port', async () => {
    assert.equal(await authorize(idp, 'demo-agent', 'http://127.0.0.1:41234/callback'), 303);
  });

  it('a redirect_uri not registered for the client is refused on a page, and the log names the client, the URI and the registered ones', async () => {
    logged.length = 0;
    const refused = 'http://localhost:3000/auth/callback';
    assert.equal(await authorize(idp, 'demo-agent', refused), 400);
    assert.equal(logged.length, 1, logged.join('\n'));
    const [line = ''] = logged;
    assert.match(line, /^dev-idp: refused an authorization request of client demo-agent: /);
    assert.ok(line.includes(`redirect_uri ${refused} is not registered for it`), line);
    assert.ok(line.includes('http://127.0.0.1/callback (any port)'), line);
    assert.ok(line.includes('http://localhost:6274/oauth/callback (any port)'), line);
  });

  it('an unknown client is refused on a page, and the log names it and the clients there are', async () => {
    logged.length = 0;
    assert.equal(await authorize(idp, 'inspector', 'http://localhost:6274/oauth/callback'), 400);
    assert.equal(logged.length, 1, logged.join('\n'));
    assert.match(
      logged[0] ?? '',
      /^dev-idp: refused an authorization request of unknown client inspector \(redirect_uri http:\/\/localhost:6274\/oauth\/callback\); clients: demo-agent, /,
    );
  });

  it('a refusal that goes back to the client at its redirect URI is not logged', async () => {
    logged.length = 0;
    const url = new URL(idp.endpoints.authorization);
    url.searchParams.set('client_id', 'demo-agent');
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('redirect_uri', 'http://127.0.0.1:41234/callback');
    url.searchParams.set('scope', 'openid');
    // No PKCE challenge: refused with invalid_request, sent to the client's redirect URI.
    const response = await fetch(url, { redirect: 'manual' });
    await response.body?.cancel();
    assert.equal(response.status, 303);
    assert.match(
      response.headers.get('location') ?? '',
      /^http:\/\/127\.0\.0\.1:41234\/callback\?error=/,
    );
    assert.deepEqual(logged, []);
  });
});
