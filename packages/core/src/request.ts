/** Request-level handling: bearer, MCP operation, policy, challenges, metadata, exchange, adapters. */
export {};
