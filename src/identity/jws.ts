import { constants, type KeyObject, verify } from 'node:crypto';
import { type IdentityCode, IdentityCodes, IdentityError } from './errors.js';

/**
 * Synchronous compact-JWS verification on node:crypto for the two hot paths (access tokens on a cache miss,
 * proofs of possession). jose signs everything and checks the cold paths; here its WebCrypto verify hops to
 * the libuv thread pool on every call, which put the p99 near 1 ms on a loaded 2-core machine against ~0.2 ms
 * inline (bench/identity.bench.ts). The checks are the strict subset we need, tested against jose's verdicts.
 */

const COMPACT = /^([A-Za-z0-9_-]{2,4096})\.([A-Za-z0-9_-]{2,8192})\.([A-Za-z0-9_-]{0,2048})$/;

interface AlgSpec {
  hash: string | null;
  key: (
    k: KeyObject,
  ) => KeyObject | { key: KeyObject; dsaEncoding?: 'ieee-p1363'; padding?: number; saltLength?: number };
  keyType: readonly string[];
}

const ALGS: Record<string, AlgSpec> = {
  EdDSA: { hash: null, key: (k) => k, keyType: ['ed25519'] },
  Ed25519: { hash: null, key: (k) => k, keyType: ['ed25519'] },
  ES384: { hash: 'sha384', key: (k) => ({ key: k, dsaEncoding: 'ieee-p1363' }), keyType: ['ec'] },
  RS256: { hash: 'sha256', key: (k) => ({ key: k, padding: constants.RSA_PKCS1_PADDING }), keyType: ['rsa'] },
  PS256: {
    hash: 'sha256',
    key: (k) => ({ key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
    keyType: ['rsa', 'rsa-pss'],
  },
  PS384: {
    hash: 'sha384',
    key: (k) => ({ key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }),
    keyType: ['rsa', 'rsa-pss'],
  },
};

export interface JwsCodes {
  malformed: IdentityCode;
  badSignature: IdentityCode;
}

export interface VerifiedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/**
 * Verifies a compact JWS whose payload is a JSON object. `keyFor` picks the key from the (allowlisted) header;
 * it may throw its own IdentityError (unknown key). Only algorithms in `algorithms` and in the table above are
 * accepted: never `none`, never HMAC; `crit` is refused because no extension is understood.
 */
export function verifyCompactJws(
  jws: string,
  opts: {
    algorithms: readonly string[];
    keyFor: (header: Record<string, unknown>) => KeyObject;
    codes: JwsCodes;
  },
): VerifiedJws {
  const m = typeof jws === 'string' ? COMPACT.exec(jws) : null;
  if (!m) throw new IdentityError(opts.codes.malformed, 'not a compact JWS');
  const header = jsonObject(m[1]!, opts.codes.malformed, 'header');
  const alg = header.alg;
  if (typeof alg !== 'string' || !opts.algorithms.includes(alg) || !(alg in ALGS)) {
    throw new IdentityError(IdentityCodes.tokenAlgNotAllowed, `algorithm ${String(alg).slice(0, 20)} is not allowed`);
  }
  if ('crit' in header || header.b64 === false)
    throw new IdentityError(opts.codes.malformed, 'unsupported JWS header parameters');
  const key = opts.keyFor(header);
  const spec = ALGS[alg]!;
  if (!spec.keyType.includes(key.asymmetricKeyType ?? '')) {
    throw new IdentityError(opts.codes.badSignature, `algorithm ${alg} does not match the key type`);
  }
  const sig = Buffer.from(m[3]!, 'base64url');
  let ok = false;
  try {
    ok = verify(spec.hash, Buffer.from(`${m[1]}.${m[2]}`, 'ascii'), spec.key(key), sig);
  } catch {
    ok = false;
  }
  if (!ok) throw new IdentityError(opts.codes.badSignature, 'signature is invalid');
  return { header, payload: jsonObject(m[2]!, opts.codes.malformed, 'payload') };
}

function jsonObject(part: string, code: IdentityCode, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new IdentityError(code, `JWS ${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new IdentityError(code, `JWS ${what} is not a JSON object`);
  return v as Record<string, unknown>;
}
