/**
 * @mcp-iam/gateway: an identity-aware reverse proxy in front of any MCP server (HTTP or stdio).
 * Public API; every export is documented where it is defined.
 */
export * from './config/index.js';
export type { GatewayErrors } from './error-union.js';
export * from './server/index.js';
export * from './upstream/index.js';
export * from './lists/index.js';
export * from './metrics/index.js';
export * from './runtime/index.js';
