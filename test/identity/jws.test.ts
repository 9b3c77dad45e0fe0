import { createSecretKey, sign as cryptoSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { base64url, CompactSign, compactVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { IdentityCodes } from '../../src/identity/errors.js';
import { verifyCompactJws } from '../../src/identity/jws.js';

const ed = generateKeyPairSync('ed25519');
const ed2 = generateKeyPairSync('ed25519');
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const codes = { malformed: IdentityCodes.tokenMalformed, badSignature: IdentityCodes.tokenBadSignature };

async function sign(
  alg: string,
  key: KeyObject,
  payload: unknown = { a: 1 },
  extra: Record<string, unknown> = {},
): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg, ...extra })
    .sign(key);
}

function ours(jws: string, key: KeyObject, algorithms: string[]): boolean {
  try {
    verifyCompactJws(jws, { algorithms, keyFor: () => key, codes });
    return true;
  } catch {
    return false;
  }
}

async function theirs(jws: string, key: KeyObject, algorithms: string[]): Promise<boolean> {
  try {
    const r = await compactVerify(jws, key, { algorithms });
    const v = JSON.parse(new TextDecoder().decode(r.payload));
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

describe('our synchronous JWS verifier agrees with jose', () => {
  it('on valid, tampered, re-keyed and confused inputs for EdDSA, ES384, PS256 and RS256', async () => {
    const cases: Array<[string, KeyObject, string[]]> = [];
    const add = (jws: string, key: KeyObject, algs: string[]) => cases.push([jws, key, algs]);
    for (const [alg, pair] of [
      ['EdDSA', ed],
      ['ES384', p384],
      ['PS256', rsa],
      ['RS256', rsa],
    ] as const) {
      const good = await sign(alg, pair.privateKey);
      add(good, pair.publicKey, [alg]);
      add(
        good,
        pair.publicKey,
        ['EdDSA'].filter((a) => a !== alg),
      );
      const [h, p, s] = good.split('.');
      add(`${h}.${base64url.encode('{"a":2}')}.${s}`, pair.publicKey, [alg]);
      add(`${h}.${p}.${s!.slice(0, -4)}`, pair.publicKey, [alg]);
      add(`${h}.${p}.`, pair.publicKey, [alg]);
      add(await sign(alg, pair.privateKey, [1, 2]), pair.publicKey, [alg]);
    }
    add(await sign('EdDSA', ed2.privateKey), ed.publicKey, ['EdDSA']);
    add(
      await sign('HS256', createSecretKey(Buffer.from(ed.publicKey.export({ format: 'pem', type: 'spki' })))),
      ed.publicKey,
      ['EdDSA'],
    );
    const noneHeader = base64url.encode('{"alg":"none"}');
    add(`${noneHeader}.${base64url.encode('{"a":1}')}.`, ed.publicKey, ['EdDSA']);
    add(await sign('EdDSA', ed.privateKey), p384.publicKey, ['EdDSA', 'ES384']);
    let accepted = 0;
    for (const [jws, key, algs] of cases) {
      const o = ours(jws, key, algs);
      expect(o, jws.slice(0, 60)).toBe(await theirs(jws, key, algs));
      if (o) accepted++;
    }
    expect(accepted).toBe(4);
  });

  it('refuses unknown critical header parameters (as jose does)', () => {
    const h = base64url.encode(JSON.stringify({ alg: 'EdDSA', crit: ['x-ext'], 'x-ext': 1 }));
    const p = base64url.encode('{"a":1}');
    const sig = cryptoSign(null, Buffer.from(`${h}.${p}`), ed.privateKey).toString('base64url');
    expect(() =>
      verifyCompactJws(`${h}.${p}.${sig}`, { algorithms: ['EdDSA'], keyFor: () => ed.publicKey, codes }),
    ).toThrow(expect.objectContaining({ code: IdentityCodes.tokenMalformed }));
  });

  it('names alg none and HMAC as algorithm failures', () => {
    const none = `${base64url.encode('{"alg":"none"}')}.${base64url.encode('{}')}.`;
    expect(() => verifyCompactJws(none, { algorithms: ['EdDSA'], keyFor: () => ed.publicKey, codes })).toThrow(
      expect.objectContaining({ code: IdentityCodes.tokenAlgNotAllowed }),
    );
  });
});
