import { type KeyObject, randomBytes } from 'node:crypto';
import { CompactSign, SignJWT } from 'jose';
import { accessTokenHash, POP_TYPE } from './challenge.js';
import { keyAlgOf, signingAlgorithmFor } from './keys.js';

/**
 * Agent-side helpers: what an agent (or an SDK) does with its own private key to get and use tokens.
 * Gatehouse uses them in tests and in the CLI; agents in other languages follow the same formats.
 */

/**
 * A RFC 7523 `private_key_jwt` client assertion: iss = sub = the agent id, aud = Gatehouse's audience,
 * a fresh jti, and a short life. Present it to `POST /v1/token` as `client_assertion`.
 *
 * @example
 * const assertion = await createClientAssertion({ agent: 'mailer', privateKey, audience: 'gatehouse' });
 */
export async function createClientAssertion(opts: {
  agent: string;
  privateKey: KeyObject;
  audience: string;
  lifetimeSeconds?: number;
  now?: number;
}): Promise<string> {
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: signingAlgorithmFor(keyAlgOf(opts.privateKey)), typ: 'JWT' })
    .setIssuer(opts.agent)
    .setSubject(opts.agent)
    .setAudience(opts.audience)
    .setJti(randomBytes(16).toString('base64url'))
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.lifetimeSeconds ?? 60))
    .sign(opts.privateKey);
}

/**
 * A proof of possession over a nonce from `POST /v1/challenge`: sent as the `Gatehouse-PoP` header, or as
 * `proof` to the token endpoint (method `token`). With `accessToken`, the proof is bound to that token too.
 *
 * @example
 * const proof = await createProof({ privateKey, nonce, audience: 'gatehouse', method: 'tool_call:email.send', accessToken });
 */
export async function createProof(opts: {
  privateKey: KeyObject;
  nonce: string;
  audience: string;
  method: string;
  accessToken?: string;
  now?: number;
}): Promise<string> {
  const payload: Record<string, unknown> = {
    nonce: opts.nonce,
    aud: opts.audience,
    htm: opts.method,
    iat: Math.floor((opts.now ?? Date.now()) / 1000),
  };
  if (opts.accessToken !== undefined) payload.ath = accessTokenHash(opts.accessToken);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: signingAlgorithmFor(keyAlgOf(opts.privateKey)), typ: POP_TYPE })
    .sign(opts.privateKey);
}
