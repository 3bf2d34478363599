/**
 * The command tree of `mcp-iam`: every command and command group, in the order `mcp-iam --help`
 * lists them.
 */
import type { CommandGroup } from '../command.js';
import { auditGroup } from './audit.js';
import { checkCommand } from './check.js';
import { devIdpCommand } from './dev-idp.js';
import { gatewayCommand } from './gateway.js';
import { tokenCommand } from './token.js';

/** `mcp-iam` itself. */
export const MCP_IAM: CommandGroup = {
  kind: 'group',
  name: '',
  summary: 'Wires MCP servers to your enterprise Identity Provider.',
  commands: [gatewayCommand, checkCommand, devIdpCommand, tokenCommand, auditGroup],
  example: 'mcp-iam check --config gateway.yaml',
};
