import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { McpConfig } from '../config/sections/mcp.js';
import { InputError } from '../core/errors.js';
import type { Credentials } from '../core/pipeline.js';
import type { Gatehouse } from '../gatehouse.js';
import { createClientAssertion } from '../identity/client.js';
import { JWT_BEARER_ASSERTION } from '../identity/service.js';

/** Who the proxy acts for, and how it proves it for each decision. */
export interface ProxyIdentity {
  agent: string;
  /** `token`: an access token from the environment; `key`: tokens obtained with the agent's key; `host`: local authority. */
  method: 'token' | 'key' | 'host';
  /** Credentials for a decision in `session` (tokens are renewed before they expire). */
  credentials(session: string): Promise<Credentials>;
}

const RENEW_BEFORE_MS = 60_000;

/**
 * Establishes the agent identity of a stdio proxy, in this order: an access token in the environment
 * (`mcp.identity.token_env`, default GATEHOUSE_TOKEN), the agent's private key (`key_env`/`key_file`) with which
 * the proxy obtains session-bound tokens itself, or else local host authority for the named agent (which must be
 * registered or declared). Every decision then authenticates through the pipeline's authenticate stage.
 *
 * @example
 * const id = await resolveProxyIdentity(gh, gh.config.mcp, { agent: 'demo', env: process.env });
 * await gh.decide(action, { credentials: await id.credentials(session) });
 */
export async function resolveProxyIdentity(
  gh: Gatehouse,
  cfg: McpConfig,
  opts: { agent?: string; env: NodeJS.ProcessEnv; configDir: string },
): Promise<ProxyIdentity> {
  const named = opts.agent ?? cfg.agent;
  const token = opts.env[cfg.identity.token_env];
  if (token) {
    const p = await gh.identity.authenticateCaller({ kind: 'bearer', token }, { method: 'mcp' });
    if (named && named !== p.agent) {
      throw new InputError('--agent', `the token in ${cfg.identity.token_env} is for agent ${p.agent}, not ${named}`);
    }
    return { agent: p.agent, method: 'token', credentials: async () => ({ kind: 'bearer', token }) };
  }
  const key = loadKey(cfg, opts);
  if (key) {
    if (!named) throw new InputError('--agent', 'name the agent whose key is given (--agent or mcp.agent)');
    const cache = new Map<string, { token: string; expiresAt: number }>();
    return {
      agent: named,
      method: 'key',
      async credentials(session) {
        const cached = cache.get(session);
        if (cached && cached.expiresAt - RENEW_BEFORE_MS > gh.clock.now())
          return { kind: 'bearer', token: cached.token };
        const assertion = await createClientAssertion({
          agent: named,
          privateKey: key,
          audience: gh.identity.audience,
        });
        const t = await gh.identity.grant(
          {
            grant_type: 'client_credentials',
            client_assertion_type: JWT_BEARER_ASSERTION,
            client_assertion: assertion,
            session,
          },
          { actor: `agent:${named}` },
        );
        cache.set(session, { token: t.access_token, expiresAt: t.expires_at });
        return { kind: 'bearer', token: t.access_token };
      },
    };
  }
  if (!named) {
    throw new InputError(
      '--agent',
      `name the agent the proxy acts for (--agent, mcp.agent), or give its token in ${cfg.identity.token_env}`,
    );
  }
  if (!gh.identity.registry.get(named) && gh.config.identity.unregistered_agents !== 'allow') {
    // Fail at start rather than deny every call: the agent must exist (gatehouse agents register, identity.agents).
    throw new InputError(
      '--agent',
      `agent ${named} is not registered (register it, or declare it under identity.agents)`,
    );
  }
  return { agent: named, method: 'host', credentials: async () => ({ kind: 'host' }) };
}

function loadKey(cfg: McpConfig, opts: { env: NodeJS.ProcessEnv; configDir: string }): KeyObject | undefined {
  const fromEnv = opts.env[cfg.identity.key_env];
  const where = fromEnv ? cfg.identity.key_env : cfg.identity.key_file;
  const pem =
    fromEnv ?? (cfg.identity.key_file ? readKeyFile(resolve(opts.configDir, cfg.identity.key_file)) : undefined);
  if (!pem) return undefined;
  try {
    return createPrivateKey(pem);
  } catch {
    throw new InputError(where ?? 'mcp.identity', 'is not a PEM private key');
  }
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(
      'mcp.identity.key_file',
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}
