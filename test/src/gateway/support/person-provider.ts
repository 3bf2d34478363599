/**
 * An `OAuthClientProvider` of the official MCP SDK for a person using the pre-registered public
 * client `demo-agent` (PKCE, loopback redirect). When the SDK sends the person to the
 * authorization URL, the provider signs them in at the dev IdP (see `signIn`) and keeps the
 * authorization code, which the test hands to `transport.finishAuth(code)`.
 */
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { signIn, type Person } from './browser.js';

/** The person's client: `demo-agent`, with in-memory tokens and PKCE verifier. */
export class PersonOAuthProvider implements OAuthClientProvider {
  readonly #person: Person;
  readonly #redirectUrl: string;
  #tokens: OAuthTokens | undefined;
  #verifier = '';
  /** Every authorization URL the SDK asked to open. */
  readonly authorizationUrls: URL[] = [];
  /** The code of the last sign-in, for `transport.finishAuth`. */
  code: string | undefined;

  constructor(person: Person, redirectPort: number) {
    this.#person = person;
    this.#redirectUrl = `http://127.0.0.1:${redirectPort}/callback`;
  }

  get redirectUrl(): string {
    return this.#redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'e2e demo agent',
      redirect_uris: [this.#redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  clientInformation(): OAuthClientInformationMixed {
    return { client_id: 'demo-agent' };
  }

  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    this.authorizationUrls.push(authorizationUrl);
    const callback = await signIn(authorizationUrl, this.#person);
    const error = callback.searchParams.get('error');
    if (error) throw new Error(`sign-in ended with ${error}`);
    this.code = callback.searchParams.get('code') ?? undefined;
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.#verifier = codeVerifier;
  }

  codeVerifier(): string {
    return this.#verifier;
  }
}
