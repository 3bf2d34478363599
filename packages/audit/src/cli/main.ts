#!/usr/bin/env node
/**
 * Stand-alone entry point `mcp-iam-audit` (the same commands as `mcp-iam audit`).
 */
import { runAuditCli } from './audit-cli.js';

process.exitCode = await runAuditCli(process.argv.slice(2));
