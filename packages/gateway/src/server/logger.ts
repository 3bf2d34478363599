/**
 * The gateway's structured logger (pino). Request logs carry method, path (never the query), route,
 * status, outcome, reason and timing, never headers; credentials are redacted as a second line of
 * defence should a field ever carry one.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Options of `createGatewayLogger`. */
export interface GatewayLoggerOptions {
  /** Level (default `info`). */
  readonly level?: string;
  /** Where lines go (default stdout). */
  readonly destination?: DestinationStream;
}

/** Field paths whose values are always replaced by `[redacted]`. */
export const REDACTED_LOG_PATHS = [
  'authorization',
  'token',
  'access_token',
  'client_secret',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.authorization',
  '*.token',
  '*.access_token',
  '*.client_secret',
];

/**
 * Creates the gateway logger.
 *
 * @example
 * ```ts
 * const logger = createGatewayLogger({ level: config.log_level });
 * ```
 */
export function createGatewayLogger(options: GatewayLoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    base: { component: 'mcp-iam-gateway' },
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** What may be logged of an error: its name, code and message (never a cause chain or a request). */
export function safeError(error: unknown): { name?: string; code?: string; message?: string } {
  if (error instanceof Error)
    return {
      name: error.name,
      code: (error as { code?: string }).code,
      message: error.message.slice(0, 500),
    };
  return { message: String(error).slice(0, 200) };
}
