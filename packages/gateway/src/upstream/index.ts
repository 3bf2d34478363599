/** Upstreams: Streamable HTTP and stdio MCP servers behind the gateway. */
export * from './types.js';
export * from './headers.js';
export * from './http.js';
export * from './stdio.js';
export * from './factory.js';
