/**
 * @mcp-iam/core: make an MCP server an OAuth 2.1 resource server of your IdP.
 * Public API; every export is documented where it is defined.
 */
export * from './errors.js';
export type { CoreErrors } from './error-union.js';
export * from './principal/principal.js';
export * from './token/verifier.js';
export * from './audit/record.js';
export * from './verification.js';
export * from './request.js';
