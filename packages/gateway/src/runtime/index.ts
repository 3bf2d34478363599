/** The composed gateway: route guards on @mcp-iam/core, audit sink, start and check. */
export * from './guard.js';
export * from './start.js';
export * from './check.js';
