/**
 * `mcp-iam dev-idp totp USER [--config FILE]`: prints the current one-time code of a development
 * IdP user enrolled for MFA, to type on the IdP's login page when a sign-in asks for MFA.
 */
import type { DevIdpFixtureOverrides } from '@mcp-iam/dev-idp';
import { ConfigurationError, defineCommand, UsageError } from '../command.js';
import { EXIT_CODES } from '../exit-codes.js';

/** The fixture overrides of `file`; a file that fails to load is a configuration error. */
async function readFixtureFile(file: string): Promise<DevIdpFixtureOverrides> {
  const { DevIdpConfigError, loadFixturesFile } = await import('@mcp-iam/dev-idp');
  try {
    return await loadFixturesFile(file);
  } catch (error) {
    if (error instanceof DevIdpConfigError) throw new ConfigurationError(error.message);
    throw error;
  }
}

/** The `dev-idp totp` command. */
export const devIdpTotpCommand = defineCommand({
  kind: 'command',
  name: 'dev-idp totp',
  summary: 'Prints the current one-time code (TOTP) of a development IdP user, for MFA sign-ins.',
  details:
    "The code is computed from the user's TOTP secret in the fixtures: the built-in ones, or the " +
    'same fixture file the IdP runs with (--config). A code lasts 30 seconds; the IdP also accepts ' +
    'the one before and the one after. Development only: these secrets are public.',
  operands: [{ name: 'USER', description: 'a fixture user enrolled for MFA, such as alice' }],
  options: {
    config: {
      type: 'string',
      value: 'FILE',
      description: 'YAML fixture overrides the IdP was started with',
    },
  },
  example: 'mcp-iam dev-idp totp alice',
  exitCodes: {
    ok: 'the code was printed',
    failure: 'the user is not enrolled for MFA (no TOTP secret)',
    configuration: 'the fixture file fails to load or validate',
  },
  async run(values, io, [user = '']) {
    const { defaultFixtures, mergeFixtures, totpNow } = await import('@mcp-iam/dev-idp');
    const overrides = values.config !== undefined ? await readFixtureFile(values.config) : {};
    const fixtures = mergeFixtures(defaultFixtures(), overrides);
    const users = Object.keys(fixtures.users);
    if (!Object.hasOwn(fixtures.users, user)) {
      throw new UsageError(`unknown user ${JSON.stringify(user)} (users: ${users.join(', ')})`);
    }
    if (!fixtures.users[user]?.totp_secret) {
      const enrolled = users.filter((name) => fixtures.users[name]?.totp_secret);
      throw new Error(
        `user ${user} is not enrolled for MFA: no TOTP secret in the fixtures (enrolled: ${enrolled.join(', ') || 'none'})`,
      );
    }
    io.stdout(`${totpNow(user, fixtures)}\n`);
    return EXIT_CODES.ok;
  },
});
