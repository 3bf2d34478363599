// The hostile-input suite (SECURITY-CASES rows 1–45) against @mcp-iam/core behind its node:http
// adapter, over real HTTP on loopback; the gateway will run the same suite with its own target.
import { defineHostileSuite } from './harness.js';
import { createCoreTarget } from './core-target.js';

await defineHostileSuite({ label: 'core', createTarget: createCoreTarget });
