import { z } from 'zod';

const NameSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'credential names use letters, digits and _ . -');

/** A credential taken from an environment variable of the Gatehouse process (read-only backend). */
export const EnvCredentialSchema = z
  .object({
    var: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'),
    /** Agents that may use it (glob `*` allowed); empty means none. */
    agents: z.array(z.string().min(1)).default([]),
    /** Tools it may be resolved for (glob `*` allowed); empty means none. */
    tools: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const CredentialsSchema = z
  .object({
    /** Credentials from environment variables, by handle name: `{{secret:NAME}}`. */
    env: z.record(NameSchema, EnvCredentialSchema).default({}),
    /** Redact every credential value echoed back in a tool result (on by default; turning it off is unsafe). */
    redact_echoes: z.boolean().default(true),
  })
  .strict();

export type CredentialsConfig = z.output<typeof CredentialsSchema>;
