/** The gateway server, its guard seam, request hygiene and reload. */
export * from './seam.js';
export * from './server.js';
export * from './reload.js';
export * from './path.js';
export * from './hosts.js';
export * from './trace.js';
export { createGatewayLogger, REDACTED_LOG_PATHS, type GatewayLoggerOptions } from './logger.js';
