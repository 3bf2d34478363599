// Specification of the JWS signature check: every configured algorithm verifies a genuine
// signature and refuses another key's, a changed payload, a changed signature, a signature with
// a stray character, a header alg other than the key's, and the wrong signature encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createPrivateKey, sign } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey } from 'jose';
import { ASYMMETRIC_ALGORITHMS } from '../issuer/options.js';
import type { VerificationKey } from '../issuer/keyset.js';
import { verifyJwsSignature } from './signature.js';

for (const alg of ASYMMETRIC_ALGORITHMS) {
  test(`${alg}: accepts a genuine signature and refuses forgeries`, async () => {
    const pair = await generateKeyPair(alg, { extractable: true });
    const other = await generateKeyPair(alg, { extractable: true });
    const imported = (await importJWK(await exportJWK(pair.publicKey), alg)) as CryptoKey;
    const key: VerificationKey = { alg, key: imported };
    const mint = (signer: typeof pair.privateKey): Promise<string> =>
      new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg, typ: 'at+jwt' }).sign(signer);
    const token = await mint(pair.privateKey);
    const [h, p, s] = token.split('.') as [string, string, string];
    assert.equal(verifyJwsSignature(token, alg, key), true);

    const flipped = Buffer.from(s, 'base64url');
    flipped[5] = (flipped[5] as number) ^ 1;
    const forgeries = [
      await mint(other.privateKey),
      `${h}.${Buffer.from('{"sub":"mallory"}').toString('base64url')}.${s}`,
      `${h}.${p}.${flipped.toString('base64url')}`,
      `${h}.${p}.${s}A`,
    ];
    for (const forged of forgeries) assert.equal(verifyJwsSignature(forged, alg, key), false);
    assert.equal(verifyJwsSignature(token, alg === 'RS256' ? 'PS256' : 'RS256', key), false);

    // The same key and digest with the encoding or padding of another algorithm family.
    const priv = createPrivateKey({ key: await exportJWK(pair.privateKey), format: 'jwk' });
    const data = Buffer.from(`${h}.${p}`);
    const digest = `sha${alg.slice(2)}`;
    let wrong: Buffer | undefined;
    if (alg.startsWith('ES')) wrong = sign(digest, data, priv); // DER instead of r‖s
    if (alg.startsWith('PS'))
      wrong = sign(digest, data, {
        key: priv,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 20,
      });
    if (alg.startsWith('RS'))
      wrong = sign(digest, data, { key: priv, padding: constants.RSA_PKCS1_PSS_PADDING });
    if (wrong)
      assert.equal(verifyJwsSignature(`${h}.${p}.${wrong.toString('base64url')}`, alg, key), false);
  });
}
