import { isIP } from 'node:net';
import { z } from 'zod';
import { DurationSchema } from '../units.js';

const KeyAlgSchema = z.enum(['Ed25519', 'P-384', 'RSA-4096']);
const AgentIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'agent ids are 1-64 letters, digits, . _ - and start with a letter or digit',
  );

/** An agent declared in the configuration: registered (without a key) on open, its roles kept in step with the file. */
export const ConfiguredAgentSchema = z
  .object({
    roles: z.array(z.string().min(1)).default([]),
    description: z.string().max(500).optional(),
  })
  .strict();

export const CaConfigSchema = z
  .object({
    /** Key type of the root and intermediate CA keys. */
    key_algorithm: z.enum(['Ed25519', 'P-384']).default('Ed25519'),
    root_lifetime: DurationSchema.default(10 * 365 * 86_400_000),
    intermediate_lifetime: DurationSchema.default(30 * 86_400_000),
    /** Agent leaf certificates; renewed at half-life. */
    leaf_lifetime: DurationSchema.default(24 * 3_600_000),
    /** How long a published CRL is valid before the next one is due. */
    crl_lifetime: DurationSchema.default(24 * 3_600_000),
  })
  .strict();

function isAddressOrCidr(v: string): boolean {
  const [addr = '', prefix, ...rest] = v.split('/');
  const family = isIP(addr);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const n = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && n <= (family === 4 ? 32 : 128);
}

export const IdentitySchema = z
  .object({
    /** SPIFFE trust domain: agents are `spiffe://<trust_domain>/agent/<id>`. */
    trust_domain: z
      .string()
      .regex(/^[a-z0-9._-]{1,255}$/, 'a trust domain is lowercase letters, digits, . _ -')
      .default('gatehouse.local'),
    /** `iss` of every token; defaults to `spiffe://<trust_domain>`. */
    issuer: z.string().min(1).optional(),
    /** `aud` Gatehouse requires of access tokens (and of proofs and assertions). */
    audience: z.string().min(1).default('gatehouse'),
    access_token_ttl: DurationSchema.default(600_000),
    /** Life of one refresh token; each refresh rotates it. */
    refresh_token_ttl: DurationSchema.default(24 * 3_600_000),
    /** Absolute life of a refresh family, however often it is refreshed. */
    refresh_family_ttl: DurationSchema.default(30 * 86_400_000),
    /** What a reused (already spent) refresh token does beyond revoking its family. */
    refresh_reuse: z.enum(['compromise', 'revoke_family']).default('compromise'),
    /** Tolerated clock difference for exp, nbf and iat. Bounded: a large skew would stretch every TTL. */
    clock_skew: DurationSchema.default(30_000).refine((v) => v <= 300_000, 'clock_skew must be at most 5m'),
    /** JWS algorithms accepted on Gatehouse's own tokens. */
    token_algorithms: z
      .array(z.enum(['EdDSA', 'ES384']))
      .min(1)
      .default(['EdDSA']),
    /** Key type of the token signing key (EdDSA tokens need Ed25519, ES384 tokens need P-384). */
    signing_key_algorithm: z.enum(['Ed25519', 'P-384']).default('Ed25519'),
    /** Token signing key rotation period; the previous key stays in the JWKS for `signing_key_overlap`. */
    signing_key_rotation: DurationSchema.default(30 * 86_400_000),
    signing_key_overlap: DurationSchema.default(86_400_000),
    /** Default type of key pairs Gatehouse generates for agents. */
    agent_key_algorithm: KeyAlgSchema.default('Ed25519'),
    /** Agents should rotate their key this often; `agents list` shows who is due. */
    agent_key_rotation: DurationSchema.default(90 * 86_400_000),
    /** Longest life of a client assertion (RFC 7523) presented to get a token. */
    assertion_max_age: DurationSchema.default(300_000),
    /** Life of a proof-of-possession nonce. */
    nonce_ttl: DurationSchema.default(60_000),
    /** Outstanding nonces per agent; more requests are refused until some expire. */
    max_nonces_per_agent: z.number().int().positive().default(32),
    /** Verified access tokens kept in memory (keyed by SHA-256 of the token). */
    token_cache_size: z.number().int().min(0).default(10_000),
    /** How often a process picks up registry and revocation changes made by another process (CLI vs gateway). */
    sync_interval: DurationSchema.default(1000),
    /** Host-mode actions for an agent that is neither registered nor configured: `deny` (secure default) or `allow`. */
    unregistered_agents: z.enum(['deny', 'allow']).default('deny'),
    /** Role whose agents may manage other agents over HTTP (`POST /v1/agents`, status changes, rotation). */
    admin_role: z.string().min(1).default('gatehouse.admin'),
    /** Request header carrying the client certificate (PEM, URL-encoded) from a TLS-terminating proxy you trust. */
    client_cert_header: z.string().min(1).optional(),
    /** Socket addresses (IPs or CIDRs) of the proxies allowed to set client_cert_header; anyone else's is ignored. */
    trusted_proxies: z
      .array(z.string().max(64).refine(isAddressOrCidr, 'expected an IP address or CIDR, e.g. 10.0.0.5 or 10.0.0.0/24'))
      .default([]),
    ca: CaConfigSchema.default(CaConfigSchema.parse({})),
    /** Agents declared here exist without `agents register`; they act in host mode until a key is registered. */
    agents: z.record(AgentIdSchema, ConfiguredAgentSchema).default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.signing_key_overlap < c.access_token_ttl) {
      ctx.addIssue({
        code: 'custom',
        path: ['signing_key_overlap'],
        message: 'must be at least access_token_ttl, or tokens signed just before a rotation would fail',
      });
    }
    const needed = c.signing_key_algorithm === 'Ed25519' ? 'EdDSA' : 'ES384';
    if (!c.token_algorithms.includes(needed)) {
      ctx.addIssue({
        code: 'custom',
        path: ['token_algorithms'],
        message: `must include ${needed}, the algorithm of signing_key_algorithm ${c.signing_key_algorithm}`,
      });
    }
  });

export type IdentityConfig = z.output<typeof IdentitySchema>;
