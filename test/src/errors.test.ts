/**
 * One error tree: every error class a package exports extends core's `McpIamError` and carries a
 * stable string `code`, so a caller can catch all of mcp-iam's errors with one `instanceof` and
 * branch on codes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as audit from '@mcp-iam/audit';
import * as cli from '@mcp-iam/cli';
import * as core from '@mcp-iam/core';
import * as devIdp from '@mcp-iam/dev-idp';
import * as gateway from '@mcp-iam/gateway';

type ErrorClass = abstract new (...args: never[]) => Error;

function errorClasses(exports: Record<string, unknown>): Array<[string, ErrorClass]> {
  return Object.entries(exports).filter(
    (entry): entry is [string, ErrorClass] =>
      typeof entry[1] === 'function' && entry[1].prototype instanceof Error,
  );
}

describe('error tree', () => {
  for (const [name, exports] of Object.entries({ core, audit, gateway, devIdp, cli })) {
    it(`every error class exported by ${name} extends McpIamError`, () => {
      const classes = errorClasses(exports as Record<string, unknown>);
      assert.ok(classes.length > 0, `${name} exports error classes`);
      const outside = classes
        .filter(
          ([, value]) =>
            value !== core.McpIamError && !(value.prototype instanceof core.McpIamError),
        )
        .map(([key]) => key);
      assert.deepEqual(outside, []);
    });
  }

  it('errors of every package carry their stable code and name', () => {
    const samples: Array<[core.McpIamError<string>, string, string]> = [
      [new core.PolicyError('tools.x', 'bad'), 'invalid_policy', 'PolicyError'],
      [new core.StrictJsonError('bad'), 'invalid_json', 'StrictJsonError'],
      [new core.IdpFetchError('down', { status: 500 }), 'idp_request_failed', 'IdpFetchError'],
      [new audit.SpoolWriteError('disk'), 'spool_write_failed', 'SpoolWriteError'],
      [new gateway.ListAnswerError('bad'), 'list_answer_unreadable', 'ListAnswerError'],
      [
        new devIdp.TokenRequestError(400, 'invalid_client', undefined),
        'token_request_failed',
        'TokenRequestError',
      ],
    ];
    for (const [error, code, name] of samples) {
      assert.ok(error instanceof core.McpIamError);
      assert.equal(error.code, code);
      assert.equal(error.name, name);
    }
  });
});
