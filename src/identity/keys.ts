import { createPublicKey, type KeyObject, webcrypto } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { z } from 'zod';
import { generateKeyPair, type KeyAlg } from '../store/keyring.js';
import { IdentityCodes, IdentityError } from './errors.js';

export type { KeyAlg } from '../store/keyring.js';

export const KEY_ALGS: readonly KeyAlg[] = ['Ed25519', 'P-384', 'RSA-4096'];

/** JWS algorithms an agent key of each type may sign with. Never `none`, never HMAC. */
const JWS_ALGS: Record<KeyAlg, readonly string[]> = {
  Ed25519: ['EdDSA', 'Ed25519'],
  'P-384': ['ES384'],
  'RSA-4096': ['PS256', 'PS384', 'RS256'],
};

export function jwsAlgorithmsFor(alg: KeyAlg): readonly string[] {
  return JWS_ALGS[alg];
}

/** The JWS algorithm Gatehouse signs with for a key of this type. */
export function signingAlgorithmFor(alg: KeyAlg): string {
  return alg === 'Ed25519' ? 'EdDSA' : alg === 'P-384' ? 'ES384' : 'PS256';
}

/** The key type of a public or private key, or an error for any type Gatehouse does not accept. */
export function keyAlgOf(key: KeyObject): KeyAlg {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ed25519') return 'Ed25519';
  if (type === 'ec' && details.namedCurve === 'secp384r1') return 'P-384';
  if ((type === 'rsa' || type === 'rsa-pss') && (details.modulusLength ?? 0) >= 4096) return 'RSA-4096';
  const what =
    type === 'ec' ? `EC curve ${details.namedCurve}` : type === 'rsa' ? `RSA-${details.modulusLength}` : type;
  throw new IdentityError(
    IdentityCodes.keyInvalid,
    `unsupported key type ${what}: use Ed25519, ECDSA P-384 or RSA-4096`,
  );
}

/**
 * Parses an agent's public key given as SPKI PEM or as a JWK (JSON text or object). Private keys are refused:
 * an agent registering its own key must keep the private half to itself.
 *
 * @example
 * const key = parsePublicKey(readFileSync('agent.pub.pem', 'utf8'));
 */
export function parsePublicKey(input: string | JWK): { key: KeyObject; alg: KeyAlg } {
  let key: KeyObject;
  try {
    if (typeof input === 'string') {
      const text = input.trim();
      if (/PRIVATE KEY/.test(text)) {
        throw new IdentityError(IdentityCodes.keyInvalid, 'a private key was given where a public key is expected');
      }
      key = text.startsWith('{')
        ? createPublicKey({ key: publicJwk(JSON.parse(text)), format: 'jwk' })
        : createPublicKey({ key: text, format: 'pem' });
    } else {
      key = createPublicKey({ key: publicJwk(input), format: 'jwk' });
    }
  } catch (err) {
    if (err instanceof IdentityError) throw err;
    throw new IdentityError(IdentityCodes.keyInvalid, 'public key is not a valid SPKI PEM or JWK', { cause: err });
  }
  if (key.type !== 'public') throw new IdentityError(IdentityCodes.keyInvalid, 'expected a public key');
  return { key, alg: keyAlgOf(key) };
}

/** A public JWK of a key type Gatehouse accepts; private members are refused below, with their own message. */
const PublicJwkSchema = z.looseObject({
  kty: z.enum(['OKP', 'EC', 'RSA']),
  crv: z.string().max(16).optional(),
  x: z.string().max(2048).optional(),
  y: z.string().max(2048).optional(),
  n: z.string().max(2048).optional(),
  e: z.string().max(16).optional(),
});

function publicJwk(input: unknown): JsonWebKeyInput {
  const r = PublicJwkSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new IdentityError(
      IdentityCodes.keyInvalid,
      `JWK ${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'is invalid'}`,
    );
  }
  if ('d' in r.data || 'p' in r.data || 'q' in r.data) {
    throw new IdentityError(IdentityCodes.keyInvalid, 'a private JWK was given where a public key is expected');
  }
  return r.data;
}

type JsonWebKeyInput = Parameters<typeof createPublicKey>[0] extends infer T
  ? T extends { format: 'jwk'; key: infer K }
    ? K
    : never
  : never;

/** RFC 7638 JWK thumbprint (SHA-256, base64url): the `cnf.jkt` that binds tokens to this key. */
export async function jwkThumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(key), 'sha256');
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'spki' }).toString();
}

/** A fresh key pair for an agent that cannot generate its own. The private key is returned once as PKCS#8 PEM. */
export function generateAgentKeyPair(alg: KeyAlg): {
  publicKey: KeyObject;
  privateKey: KeyObject;
  privateKeyPem: string;
} {
  const { publicKey, privateKey } = generateKeyPair(alg);
  return { publicKey, privateKey, privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

/** WebCrypto parameters of a key type, for @peculiar/x509 which works on CryptoKeys. */
export function webCryptoParams(alg: KeyAlg): {
  importParams: webcrypto.AlgorithmIdentifier | webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  signParams: webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams;
} {
  switch (alg) {
    case 'Ed25519':
      return { importParams: { name: 'Ed25519' }, signParams: { name: 'Ed25519' } };
    case 'P-384':
      return {
        importParams: { name: 'ECDSA', namedCurve: 'P-384' } as webcrypto.EcKeyImportParams,
        signParams: { name: 'ECDSA', hash: 'SHA-384' } as webcrypto.EcdsaParams,
      };
    case 'RSA-4096':
      return {
        importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as webcrypto.RsaHashedImportParams,
        signParams: { name: 'RSASSA-PKCS1-v1_5' },
      };
  }
}

/** Converts a node:crypto key to a WebCrypto key (Node 20 has no KeyObject.toCryptoKey). */
export async function toCryptoKey(key: KeyObject, alg: KeyAlg, usage: 'sign' | 'verify'): Promise<webcrypto.CryptoKey> {
  const { importParams } = webCryptoParams(alg);
  if (key.type === 'private') {
    const der = key.export({ format: 'der', type: 'pkcs8' });
    try {
      return await webcrypto.subtle.importKey('pkcs8', der, importParams, false, [usage]);
    } finally {
      der.fill(0);
    }
  }
  return webcrypto.subtle.importKey('spki', key.export({ format: 'der', type: 'spki' }), importParams, true, [usage]);
}
