/** Every error class @mcp-iam/gateway throws, as one union; each extends core's `McpIamError`. */
import type { ConfigError } from './config/errors.js';
import type { EventStreamTooLargeError } from './lists/event-stream.js';
import type { ListAnswerError } from './lists/filter.js';
import type { UpstreamError } from './upstream/types.js';

/** The errors of @mcp-iam/gateway. Branch on `code` (stable), or narrow with `instanceof`. */
export type GatewayErrors =
  ConfigError | UpstreamError | ListAnswerError | EventStreamTooLargeError;
