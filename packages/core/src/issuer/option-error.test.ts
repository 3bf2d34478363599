/** Specifies how issuer option problems are reported: core's option names, and parts apart. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IssuerOptionError } from './option-error.js';
import { resolveIssuer } from './options.js';

function refusal(run: () => unknown): IssuerOptionError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof IssuerOptionError, String(error));
    return error;
  }
  assert.fail('expected an IssuerOptionError');
}

test('a library user reads the TrustedIssuer option to set in the message', () => {
  const error = refusal(() => resolveIssuer({ issuer: 'http://127.0.0.1:4000' }));
  assert.equal(
    error.message,
    'issuer http://127.0.0.1:4000: issuer uses http; set allowInsecureLoopbackHttp: true to allow loopback http',
  );
  assert.equal(error.code, 'invalid_issuer_option');
});

test('the option, the problem and the remedy are given apart, for tools with their own key names', () => {
  const error = refusal(() =>
    resolveIssuer({
      issuer: 'https://idp.example.com',
      introspection: {
        endpoint: 'http://127.0.0.1:4000/introspect',
        clientId: 'gw',
        clientSecret: 's',
      },
    }),
  );
  assert.equal(error.issuer, 'https://idp.example.com');
  assert.equal(error.option, 'introspection.endpoint');
  assert.equal(error.problem, 'uses http');
  assert.deepEqual(error.remedy, {
    option: 'allowInsecureLoopbackHttp',
    value: 'true',
    effect: 'to allow loopback http',
  });
  const yaml = (option: string): string =>
    option === 'allowInsecureLoopbackHttp' ? 'allow_insecure_loopback_http' : option;
  assert.equal(
    error.describe(yaml),
    'introspection.endpoint uses http; set allow_insecure_loopback_http: true to allow loopback http',
  );
  assert.equal(
    error.describeProblem(yaml),
    'uses http; set allow_insecure_loopback_http: true to allow loopback http',
  );
});

test('every option resolveIssuer refuses is named by its TrustedIssuer path', () => {
  const base = { issuer: 'https://idp.example.com' };
  const cases: Array<[Parameters<typeof resolveIssuer>[0], string]> = [
    [{ ...base, jwksUri: 'http://10.0.0.1/jwks' }, 'jwksUri'],
    [{ ...base, tokenTypes: [] }, 'tokenTypes'],
    [{ ...base, algorithms: ['HS256' as 'RS256'] }, 'algorithms'],
    [{ ...base, format: 'opaque' }, 'format'],
    [
      {
        ...base,
        introspection: { endpoint: 'https://idp.example.com/i', clientId: 'gw', clientSecret: '' },
      },
      'introspection.clientSecret',
    ],
    [{ ...base, clockToleranceSec: -1 }, 'clockToleranceSec'],
  ];
  for (const [options, option] of cases) {
    const error = refusal(() => resolveIssuer(options));
    assert.equal(error.option, option);
    assert.ok(
      error.message.startsWith(`issuer https://idp.example.com: ${option} `),
      error.message,
    );
  }
});
