/**
 * The files `npm start` leaves for the commands it prints, in the demo's data directory
 * (`data/` at the repository root by default, which git ignores):
 *
 *   demo.env                     `export NAME=value` lines: the values of the `${…}` variables
 *                                of examples/stack/gateway.yaml for the running stack
 *   keys/nightly-sync.jwk.json   the private key of the `nightly-sync` client (private_key_jwt)
 *   tokens/                      where the printed `mcp-iam token` commands write their tokens
 *
 * Files holding secrets are written with mode 0600 and their directories with 0700.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NIGHTLY_SYNC_PRIVATE_JWK } from '@mcp-iam/dev-idp';
import { REPO_ROOT } from './stack.js';

/** The demo's data directory by default: `data/` at the repository root. */
export const DEFAULT_DATA_DIR = join(REPO_ROOT, 'data');

/** Where the files of {@link writeDemoFiles} are. */
export interface DemoFiles {
  /** The data directory. */
  readonly dir: string;
  /** The gateway configuration's variables, as `export NAME=value` lines. */
  readonly env: string;
  /** The directory for tokens. */
  readonly tokens: string;
  /** The private JWK of `nightly-sync`. */
  readonly nightlySyncKey: string;
}

/** `value` as one POSIX shell word: bare when it is plainly safe, else in single quotes. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The text of the env file: a comment, then one `export NAME=value` line per variable. */
export function envFileText(variables: Readonly<Record<string, string>>): string {
  const lines = [
    '# The values of the ${…} variables of examples/stack/gateway.yaml for the running demo stack,',
    '# written by `npm start`. Development values only. Use it from the repository root:',
    '#   set -a; . data/demo.env; set +a; npx mcp-iam check --config examples/stack/gateway.yaml',
    ...Object.entries(variables).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
  ];
  return `${lines.join('\n')}\n`;
}

async function writePrivate(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  // An existing file keeps its mode through writeFile; make it private either way.
  await chmod(path, 0o600);
}

async function makePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/**
 * Writes the env file for `gatewayEnv` and the nightly-sync key into `dir`, and makes the tokens
 * directory. Returns where they are.
 */
export async function writeDemoFiles(
  dir: string,
  gatewayEnv: Readonly<Record<string, string>>,
): Promise<DemoFiles> {
  const files: DemoFiles = {
    dir,
    env: join(dir, 'demo.env'),
    tokens: join(dir, 'tokens'),
    nightlySyncKey: join(dir, 'keys', 'nightly-sync.jwk.json'),
  };
  await mkdir(dir, { recursive: true });
  await makePrivateDir(files.tokens);
  await makePrivateDir(join(dir, 'keys'));
  await writePrivate(files.env, envFileText(gatewayEnv));
  await writePrivate(
    files.nightlySyncKey,
    `${JSON.stringify(NIGHTLY_SYNC_PRIVATE_JWK, null, 2)}\n`,
  );
  return files;
}
