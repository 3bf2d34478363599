/** Request-level handling: bearer, MCP operation, policy, challenges, metadata, exchange, adapters. */
export {
  DEFAULT_MAX_BEARER_LENGTH,
  extractBearerToken,
  headerValue,
  headerValues,
  stripAccessToken,
  type BearerInput,
  type BearerOptions,
  type BearerResult,
  type HeaderRecord,
} from './bearer/bearer.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_RPC_DEPTH,
  OperationError,
  parseMcpOperation,
  type McpOperation,
  type OperationInput,
  type OperationKind,
  type OperationOptions,
} from './mcp/operation.js';
export {
  PolicyError,
  decide,
  expandScopes,
  filterList,
  requirementsFor,
  validatePolicy,
  type DecideOptions,
  type Decision,
  type FilterListOptions,
  type Policy,
  type Requirement,
} from './policy/policy.js';
export {
  ChallengeError,
  formatChallenge,
  quoteAuthParam,
  type ChallengeValue,
} from './http/challenge.js';
export {
  errorBody,
  forbiddenAnswer,
  insufficientScopeAnswer,
  internalErrorAnswer,
  invalidRequestAnswer,
  invalidTokenAnswer,
  jsonRpcErrorAnswer,
  missingTokenAnswer,
  stepUpAnswer,
  unavailableAnswer,
  type ChallengeContext,
  type HttpAnswer,
} from './http/answers.js';
export {
  METADATA_CORS_HEADERS,
  METADATA_WELL_KNOWN,
  MetadataConfigError,
  metadataAnswer,
  metadataPath,
  metadataUrl,
  protectedResourceMetadata,
  type ProtectedResourceMetadata,
  type ProtectedResourceMetadataOptions,
} from './http/metadata.js';
export { isOriginAllowed, normalizeOrigin } from './http/origin.js';
export {
  BODY_DRAIN_BYTES,
  BODY_DRAIN_MS,
  BodyTooLargeError,
  endAfterBody,
  readBody,
  type BodyDrainOptions,
} from './http/body.js';
export { InMemoryAuditSink, buildAuditRecord, type AuditInput } from './audit/build.js';
export {
  AuditRecorder,
  type AuditFailurePolicy,
  type AuditRecorderOptions,
} from './audit/recorder.js';
export {
  ResourceServer,
  createResourceServer,
  type AllowResult,
  type CompleteOptions,
  type DenyResult,
  type ResourceRequest,
  type ResourceServerAuditOptions,
  type ResourceServerOptions,
} from './pipeline/resource-server.js';
export {
  RequestState,
  insertStepAfter,
  withoutSteps,
  type PipelineStep,
  type Refusal,
  type StepResult,
} from './pipeline/steps.js';
export {
  BearerStep,
  HostStep,
  OperationStep,
  OriginStep,
  PolicyStep,
  VerifyStep,
} from './pipeline/core-steps.js';
export {
  authorizeNodeRequest,
  nodeHeaders,
  protectNodeHandler,
  readBodyCapped,
  requestPath,
  sendAnswer,
  type NodeAllow,
  type ProtectedNodeHandler,
} from './adapters/node.js';
export {
  mcpAuthMetadata,
  principalOf,
  requireMcpAuth,
  type ExpressLikeHandler,
  type ExpressLikeRequest,
  type McpAuthInfo,
  type NextFunctionLike,
} from './adapters/express.js';
export { authorizeFetchRequest, toWebResponse, type FetchAllow } from './adapters/fetch.js';
export {
  ACCESS_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT,
  TokenExchangeClient,
  createTokenExchangeClient,
  type ExchangeClientAuth,
  type ExchangedToken,
  type TokenExchangeClientOptions,
  type TokenExchangeRequest,
} from './exchange/token-exchange.js';
