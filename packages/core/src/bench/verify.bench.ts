/**
 * Verification benchmark: uncached verify throughput of `createAccessTokenVerifier` for RS256,
 * ES256 and EdDSA (a fresh token per operation, concurrency 32) as a ratio to raw
 * `node:crypto.verify` of the very same signatures, and the cached path in µs per operation.
 * Keys are served by a loopback JWKS server on 127.0.0.1 (ephemeral port). Bounded runtime.
 *
 * Run: `npm run bench -w @mcp-iam/core` (after building).
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createAccessTokenVerifier } from '../token/access-token-verifier.js';
import {
  accessTokenClaims,
  createSigner,
  LoopbackIdpFixture,
  mintToken,
  type FixtureSigner,
} from '../token/loopback-idp.fixture.js';

const RESOURCE = 'https://mcp.example.com/bench/mcp';
const CONCURRENCY = 32;
/** Time spent minting tokens per algorithm, ms (RSA signing is slow). */
const MINT_BUDGET_MS = 1500;
const MAX_TOKENS = 3000;
const CACHED_OPS = 50_000;
/** Operations run before each measurement, so that both sides are measured optimised. */
const WARM_UP_OPS = 300;
/** Measurement rounds per side and algorithm (median reported). */
const ROUNDS = 3;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function mintMany(signer: FixtureSigner, issuer: string): Promise<string[]> {
  const tokens: string[] = [];
  const start = performance.now();
  while (tokens.length < MAX_TOKENS && performance.now() - start < MINT_BUDGET_MS) {
    tokens.push(mintToken(signer, accessTokenClaims(issuer, RESOURCE)));
  }
  return tokens;
}

/** Runs `op` over every item with `concurrency` workers; returns ops per second. */
async function throughput<T>(
  items: readonly T[],
  concurrency: number,
  op: (item: T) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await op(item);
      }
    }),
  );
  return items.length / ((performance.now() - start) / 1000);
}

function rawVerifyThroughput(tokens: readonly string[], signer: FixtureSigner): number {
  const key = createPublicKey({ key: signer.jwk as never, format: 'jwk' });
  const hash = signer.alg === 'EdDSA' ? null : `sha${signer.alg.slice(2)}`;
  const options = signer.alg.startsWith('ES') ? { key, dsaEncoding: 'ieee-p1363' as const } : key;
  const parts = tokens.map((t) => {
    const dot = t.lastIndexOf('.');
    return [Buffer.from(t.slice(0, dot)), Buffer.from(t.slice(dot + 1), 'base64url')] as const;
  });
  for (const [data, sig] of parts.slice(0, WARM_UP_OPS)) cryptoVerify(hash, data, options, sig);
  const start = performance.now();
  for (const [data, sig] of parts) {
    if (!cryptoVerify(hash, data, options, sig)) throw new Error('raw verify failed');
  }
  return parts.length / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const started = performance.now();
  const idp = await LoopbackIdpFixture.start();
  const realm = idp.realm('bench');
  const signers = await Promise.all([
    createSigner('RS256'),
    createSigner('ES256'),
    createSigner('EdDSA'),
  ]);
  realm.jwks = { keys: signers.map((s) => s.jwk) };
  const issuers = [
    {
      issuer: realm.issuer,
      jwksUri: realm.jwksUri,
      allowInsecureLoopbackHttp: true,
      algorithms: ['RS256', 'ES256', 'EdDSA'] as const,
    },
  ];
  const uncached = createAccessTokenVerifier({
    issuers: issuers.map((i) => ({ ...i, algorithms: [...i.algorithms] })),
    cache: false,
  });
  const cached = createAccessTokenVerifier({
    issuers: issuers.map((i) => ({ ...i, algorithms: [...i.algorithms] })),
  });
  await Promise.all([uncached.start(), cached.start()]);

  const rows: string[][] = [
    ['alg', 'tokens', 'verify ops/s (c=32)', 'raw crypto.verify ops/s', 'ratio'],
  ];
  try {
    const minted = [];
    for (const signer of signers)
      minted.push({ signer, tokens: await mintMany(signer, realm.issuer) });
    // Warm-up of every algorithm before any measurement (both sides): with a single warm-up call
    // the first row (RS256) measured the JIT and lazy initialisation rather than the verifier.
    for (const { tokens } of minted) {
      await throughput(tokens.slice(0, WARM_UP_OPS), CONCURRENCY, (t) =>
        uncached.verify(t, { resource: RESOURCE }),
      );
    }
    for (const { signer, tokens } of minted) {
      // Three interleaved rounds per side, median of each: a single round was at the mercy of
      // background GC and compilation left over from minting (2x swings on the first row).
      const oursRounds: number[] = [];
      const rawRounds: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        oursRounds.push(
          await throughput(tokens, CONCURRENCY, (t) => uncached.verify(t, { resource: RESOURCE })),
        );
        rawRounds.push(rawVerifyThroughput(tokens, signer));
      }
      const ours = median(oursRounds);
      const raw = median(rawRounds);
      rows.push([
        signer.alg,
        String(tokens.length),
        ours.toFixed(0),
        raw.toFixed(0),
        (ours / raw).toFixed(2),
      ]);
    }

    const token = mintToken(signers[1] as FixtureSigner, accessTokenClaims(realm.issuer, RESOURCE));
    for (let i = 0; i < WARM_UP_OPS; i++) await cached.verify(token, { resource: RESOURCE });
    const start = performance.now();
    for (let i = 0; i < CACHED_OPS; i++) await cached.verify(token, { resource: RESOURCE });
    const usPerOp = ((performance.now() - start) * 1000) / CACHED_OPS;

    const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
    console.log(
      `@mcp-iam/core verify benchmark (Node ${process.version}, uncached, fresh token per op)`,
    );
    for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
    console.log(
      `cached path (ES256, same token): ${usPerOp.toFixed(2)} µs/op over ${CACHED_OPS} ops`,
    );
    console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    uncached.close();
    cached.close();
    await idp.close();
  }
}

await main();
