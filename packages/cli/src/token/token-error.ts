/** The error of `mcp-iam token`: its message names the bad input (file, option, client, scope). */
import { McpIamError } from '@mcp-iam/core';

/** Thrown for every failure of the command, with a message that names the bad input. */
export class TokenCommandError extends McpIamError<'token_command_failed'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('token_command_failed', message, options);
  }
}
