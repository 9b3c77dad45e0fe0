import type { AuditSink } from '../core/audit.js';
import { KnownSecrets } from '../core/known-secrets.js';
import { type CredentialBackend, CredentialError, type CredentialInfo, inScope } from './backend.js';

export interface ResolveContext {
  agent: string;
  tool: string;
  session?: string;
  /** Where the value goes: tool arguments, a sandbox environment, an HTTP header. Recorded in the audit log. */
  target?: 'args' | 'env' | 'header';
}

/** `{{secret:name}}`, with optional spaces inside the braces. */
export const HANDLE_RE = /\{\{\s*secret:([A-Za-z0-9_.-]{1,128})\s*\}\}/g;

export interface HandleCheck {
  name: string;
  status: 'ok' | 'unknown' | 'out_of_scope';
}

/**
 * The credential broker: agents refer to credentials by handle (`{{secret:github_token}}`); the broker resolves
 * handles only at execution time, for the agent and tool the credential is scoped to, audits every use and
 * refusal, and keeps every value in a known-secret set so any echo of it is redacted before an agent sees it.
 *
 * @example
 * const broker = await CredentialBroker.open([vault, envBackend], gh.audit);
 * const { value } = await broker.resolve({ url: 'https://api.github.com', token: '{{secret:github_token}}' },
 *   { agent: 'bot', tool: 'http.get' });
 */
export class CredentialBroker {
  /** Every credential value (all backends), for exact matching in outputs and tool results. */
  readonly known = new KnownSecrets();

  /** A broker over `backends` with every value already in the known-secret set. */
  static async open(backends: readonly CredentialBackend[], audit?: AuditSink): Promise<CredentialBroker> {
    const broker = new CredentialBroker(backends, audit);
    await broker.refreshKnown();
    return broker;
  }

  private constructor(
    private readonly backends: readonly CredentialBackend[],
    private readonly audit?: AuditSink,
  ) {}

  /** Re-reads every value into the known-secret set (after `put`/`rm`). */
  async refreshKnown(): Promise<void> {
    const seen = new Set<string>();
    for (const b of this.backends) {
      for (const info of await b.list()) {
        if (seen.has(info.name)) continue;
        const v = await b.reveal(info.name);
        if (v !== undefined) {
          this.known.set(`credential:${info.name}`, v);
          seen.add(info.name);
        }
      }
    }
    for (const name of this.known.names()) if (!seen.has(name.replace(/^credential:/, ''))) this.known.delete(name);
  }

  async list(): Promise<CredentialInfo[]> {
    const out = new Map<string, CredentialInfo>();
    for (const b of this.backends) for (const i of await b.list()) if (!out.has(i.name)) out.set(i.name, i);
    return [...out.values()];
  }

  private async find(name: string): Promise<{ backend: CredentialBackend; info: CredentialInfo } | undefined> {
    for (const backend of this.backends) {
      const info = await backend.info(name);
      if (info) return { backend, info };
    }
    return undefined;
  }

  /** Handle names referenced anywhere in a value (strings inside objects and arrays included). */
  handles(value: unknown): string[] {
    const names = new Set<string>();
    walkStrings(value, (s) => {
      for (const m of s.matchAll(HANDLE_RE)) names.add(m[1]!);
      return s;
    });
    return [...names];
  }

  /** Checks, without revealing anything, that each handle exists and is in scope for (agent, tool). */
  async check(value: unknown, ctx: { agent: string; tool: string }): Promise<HandleCheck[]> {
    const out: HandleCheck[] = [];
    for (const name of this.handles(value)) {
      const found = await this.find(name);
      if (!found) out.push({ name, status: 'unknown' });
      else out.push({ name, status: inScope(found.info, ctx.agent, ctx.tool) ? 'ok' : 'out_of_scope' });
    }
    return out;
  }

  /**
   * Replaces every handle in `value` with its credential, for execution only. The agent-visible arguments and
   * the audit log keep the handle. Throws `CredentialError` (and audits the refusal) when a handle is unknown
   * or out of scope; nothing is resolved then.
   */
  async resolve<T>(value: T, ctx: ResolveContext): Promise<{ value: T; used: string[] }> {
    const names = this.handles(value);
    const values = new Map<string, string>();
    for (const name of names) {
      const found = await this.find(name);
      const refusal = !found
        ? { code: 'credentials.unknown', message: `no credential named ${name}` }
        : !inScope(found.info, ctx.agent, ctx.tool)
          ? {
              code: 'credentials.out_of_scope',
              message: `credential ${name} is not granted to agent ${ctx.agent} for tool ${ctx.tool}`,
            }
          : undefined;
      const v = found && !refusal ? await found.backend.reveal(name) : undefined;
      const failure =
        refusal ??
        (v === undefined
          ? {
              code: 'credentials.unavailable',
              message: `credential ${name} has no value in backend ${found?.backend.name}`,
            }
          : undefined);
      if (failure) {
        await this.audit?.append(
          {
            type: 'credentials.denied',
            agent: ctx.agent,
            ...(ctx.session ? { session: ctx.session } : {}),
            actor: 'broker',
            data: { credential: name, tool: ctx.tool },
            reasons: [failure],
          },
          { durable: true },
        );
        throw new CredentialError(failure.code, name, failure.message);
      }
      values.set(name, v!);
      this.known.set(`credential:${name}`, v!);
    }
    if (names.length === 0) return { value, used: [] };
    const resolved = walkStrings(value, (s) => s.replace(HANDLE_RE, (_, n: string) => values.get(n) ?? _)) as T;
    // Durable before the value is handed out: a use that cannot be recorded does not happen.
    await this.audit?.append(
      {
        type: 'credentials.used',
        agent: ctx.agent,
        ...(ctx.session ? { session: ctx.session } : {}),
        actor: 'broker',
        data: { credentials: names, tool: ctx.tool, target: ctx.target ?? 'args' },
      },
      { durable: true },
    );
    return { value: resolved, used: names };
  }

  /** Resolves handles in an environment map for a sandboxed process (`{GITHUB_TOKEN: '{{secret:github_token}}'}`). */
  async resolveEnv(env: Record<string, string>, ctx: Omit<ResolveContext, 'target'>): Promise<Record<string, string>> {
    return (await this.resolve(env, { ...ctx, target: 'env' })).value;
  }

  /** Resolves handles in HTTP headers for an outbound request made on the agent's behalf. */
  async resolveHeaders(
    headers: Record<string, string>,
    ctx: Omit<ResolveContext, 'target'>,
  ): Promise<Record<string, string>> {
    return (await this.resolve(headers, { ...ctx, target: 'header' })).value;
  }
}

/** Maps every string inside a JSON-like value; returns a new value (objects and arrays copied). */
export function walkStrings(value: unknown, fn: (s: string, path: string) => string, path = ''): unknown {
  if (typeof value === 'string') return fn(value, path);
  if (Array.isArray(value)) return value.map((v, i) => walkStrings(v, fn, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walkStrings(v, fn, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}
