// Public API of @mcp-iam/dev-idp: start or serve the development IdP, log in headlessly, and
// the fixture constants tests and examples need (users, clients, keys, resource URLs, TOTP).
export { startDevIdp, DEFAULT_DEV_IDP_PORT, DEV_IDP_PATHS } from './server.js';
export type { DevIdp, DevIdpOptions } from './server.js';
export type { DevIdpLog } from './provider/refusals.js';
export { serveDevIdp, describeDevIdp } from './cli/serve.js';
export type { ServeDevIdpIo, ServeDevIdpOptions } from './cli/serve.js';
export {
  headlessLogin,
  signInAt,
  HeadlessLoginError,
  CookieJar,
  pkceChallenge,
} from './headless/login.js';
export type {
  HeadlessLoginOptions,
  HeadlessLoginResult,
  SignInCredentials,
} from './headless/login.js';
export {
  userAccessToken,
  clientCredentialsToken,
  exchangeToken,
  TokenRequestError,
  DEMO_REDIRECT_URI,
} from './headless/tokens.js';
export type {
  TokenSet,
  UserTokenOptions,
  ClientCredentialsOptions,
  ExchangeTokenOptions,
} from './headless/tokens.js';
export {
  ACR,
  ALICE_TOTP_SECRET,
  DEFAULT_RESOURCES,
  DEV_CLIENTS,
  DEV_USERS,
  MCP_INSPECTOR_REDIRECT_URIS,
  NIGHTLY_SYNC_PRIVATE_JWK,
  NIGHTLY_SYNC_PUBLIC_JWK,
  defaultFixtures,
  mergeFixtures,
  resourceUrls,
} from './fixtures/defaults.js';
export type { DefaultResourceName } from './fixtures/defaults.js';
export { totpNow, totpFor, verifyTotp } from './fixtures/totp.js';
export { parseFixtures, loadFixturesFile, DevIdpConfigError } from './fixtures/yaml.js';
export { TOKEN_EXCHANGE_GRANT } from './fixtures/types.js';
export type {
  DevIdpClient,
  DevIdpClientAuthMethod,
  DevIdpExchangeRules,
  DevIdpFixtureOverrides,
  DevIdpFixtures,
  DevIdpKeys,
  DevIdpResource,
  DevIdpUser,
} from './fixtures/types.js';
export { TOKEN_TYPE, DEFAULT_MAX_ACT_DEPTH } from './provider/exchange.js';
export type { KeyRingState, RotationMode, SigningAlg } from './provider/keys.js';
