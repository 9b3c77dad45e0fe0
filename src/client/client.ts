import { z } from 'zod';
import type { ActionInput } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import { GatehouseError } from '../core/errors.js';
import type { ApprovalState, GuardHost } from '../guard/host.js';

/** The gateway answered with an error, or with a body that is not what the route promises. */
export class GatehouseClientError extends GatehouseError {
  readonly status: number;
  constructor(code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

const ReasonSchema = z.object({
  code: z.string(),
  message: z.string(),
  ruleId: z.string().optional(),
  evidence: z.string().optional(),
});

// The gateway is trusted to send a full Decision; the edge checks what callers branch on and keeps the rest.
const DecisionSchema = z.looseObject({
  id: z.string(),
  effect: z.enum(['allow', 'deny', 'review']),
  tier: z.enum(['low', 'medium', 'high']),
  risk: z.number(),
  flagged: z.boolean(),
  reasons: z.array(ReasonSchema),
  verdicts: z.array(z.looseObject({ stage: z.string(), effect: z.enum(['allow', 'deny', 'review']) })),
  approvalRequest: z.string().optional(),
  policyEpoch: z.number(),
  auditSeq: z.number(),
  action: z.looseObject({ kind: z.string(), agent: z.string(), session: z.string() }),
});

const ApprovalSchema = z.looseObject({
  id: z.string(),
  status: z.enum(['pending', 'approved', 'denied', 'used', 'expired']),
  agent: z.string(),
  session: z.string(),
  tool: z.string().nullable(),
  args: z.record(z.string(), z.unknown()).nullable(),
  tier: z.enum(['low', 'medium', 'high']),
  reasons: z.array(ReasonSchema),
  approver: z.string().nullable(),
  reason: z.string().nullable(),
});
export type ApprovalView = z.infer<typeof ApprovalSchema>;

const ScanSchema = z.object({
  score: z.number(),
  action: z.enum(['allow', 'review', 'block']),
  findings: z.array(z.looseObject({ rule: z.string(), category: z.string(), score: z.number() })),
});
export type ScanResult = z.infer<typeof ScanSchema>;

const RedactSchema = z.object({
  redacted: z.string(),
  findings: z.array(z.object({ kind: z.string(), start: z.number(), end: z.number() })),
  blocked: z.boolean(),
});
export type RedactResult = z.infer<typeof RedactSchema>;

const TokenSchema = z.looseObject({
  access_token: z.string(),
  token_type: z.string(),
  expires_in: z.number(),
  refresh_token: z.string().optional(),
});
export type TokenResult = z.infer<typeof TokenSchema>;

const ErrorBody = z.looseObject({ error: z.string(), message: z.string().optional() });

export interface ClientOptions {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8930`. */
  url: string;
  /** The agent's access token (decide, scan, redact). */
  token?: string;
  /** An operator token, for the approvals routes. */
  operatorToken?: string;
  fetch?: typeof fetch;
  /** Per-request timeout; default 30 s. Approval waits add their own wait time. */
  timeoutMs?: number;
}

const WAIT_SLICE_MS = 30_000;

/**
 * Typed client of a Gatehouse gateway (`gatehouse serve`). Implements `GuardHost`, so guards and framework
 * adapters work against a separate gateway exactly as against an in-process `Gatehouse`; credential handles and
 * sandboxed tools stay with the gateway and are refused client-side.
 *
 * @example
 * const gh = new GatehouseClient({ url: 'http://127.0.0.1:8930', token: process.env.GATEHOUSE_TOKEN });
 * const d = await gh.decide({ kind: 'tool_call', agent: 'bot', tool: 'fs.read', args: { path: 'a' } });
 */
export class GatehouseClient implements GuardHost {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private accessToken: string | undefined;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? fetch;
    this.accessToken = opts.token;
  }

  /** `POST /v1/decide`. 401/403/429 carry a Decision too (deny); it is returned, not thrown. */
  async decide(input: ActionInput): Promise<Decision> {
    const body = await this.call('POST', '/v1/decide', input, this.accessToken, [200, 401, 403, 429]);
    const parsed = DecisionSchema.safeParse(body);
    if (!parsed.success) {
      const err = ErrorBody.safeParse(body);
      throw new GatehouseClientError(
        err.success ? err.data.error : 'client.bad_response',
        0,
        err.success ? (err.data.message ?? err.data.error) : 'the gateway sent something that is not a decision',
      );
    }
    return parsed.data as unknown as Decision;
  }

  readonly approvals = {
    get: async (id: string): Promise<ApprovalView & ApprovalState> =>
      this.parse(
        ApprovalSchema,
        await this.call('GET', `/v1/approvals/${encodeURIComponent(id)}`, undefined, this.op()),
      ),
    /** Long-polls `POST /v1/approvals/:id/wait` in slices until the request is decided or `timeoutMs` passes. */
    wait: async (id: string, o: { timeoutMs?: number } = {}): Promise<ApprovalView & ApprovalState> => {
      const deadline = Date.now() + (o.timeoutMs ?? 300_000);
      for (;;) {
        const left = deadline - Date.now();
        const rec = this.parse(
          ApprovalSchema,
          await this.call(
            'POST',
            `/v1/approvals/${encodeURIComponent(id)}/wait`,
            { timeout_ms: Math.max(1, Math.min(WAIT_SLICE_MS, left)) },
            this.op(),
            [200],
            Math.min(WAIT_SLICE_MS, Math.max(1, left)) + (this.opts.timeoutMs ?? 30_000),
          ),
        );
        if (rec.status !== 'pending') return rec;
        if (deadline - Date.now() <= 0) {
          throw new GatehouseClientError('approval.wait_timeout', 200, `approval ${id} is still pending`);
        }
      }
    },
    /** The approver is the operator the token belongs to; `approver` is ignored by the gateway. */
    approve: async (id: string, _approver: string, reason?: string): Promise<ApprovalView> =>
      this.parse(
        ApprovalSchema,
        await this.call('POST', `/v1/approvals/${encodeURIComponent(id)}/approve`, reason ? { reason } : {}, this.op()),
      ),
    deny: async (id: string, _approver: string, reason?: string): Promise<ApprovalView> =>
      this.parse(
        ApprovalSchema,
        await this.call('POST', `/v1/approvals/${encodeURIComponent(id)}/deny`, reason ? { reason } : {}, this.op()),
      ),
  };

  /** `POST /v1/scan`: prompt-injection score of a text. */
  async scan(text: string, source?: string): Promise<ScanResult> {
    return this.parse(
      ScanSchema,
      await this.call('POST', '/v1/scan', { text, ...(source ? { source } : {}) }, this.accessToken),
    );
  }

  /** `POST /v1/redact`: secrets and PII replaced for a destination. */
  async redact(
    text: string,
    o: {
      destination?: 'chat' | 'tool_args' | 'tool_result' | 'http' | 'log';
      mode?: 'label' | 'partial' | 'hmac';
    } = {},
  ): Promise<RedactResult> {
    return this.parse(RedactSchema, await this.call('POST', '/v1/redact', { text, ...o }, this.accessToken));
  }

  /**
   * `POST /v1/token` (OAuth 2.0 token endpoint); the returned access token is used for later calls.
   *
   * @example
   * await client.token({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_assertion: jwt });
   */
  async token(body: Record<string, string>): Promise<TokenResult> {
    const t = this.parse(TokenSchema, await this.call('POST', '/v1/token', body, undefined));
    this.accessToken = t.access_token;
    return t;
  }

  private op(): string | undefined {
    return this.opts.operatorToken ?? this.accessToken;
  }

  private parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
    const r = schema.safeParse(body);
    if (!r.success) throw new GatehouseClientError('client.bad_response', 0, `unexpected response: ${r.error.message}`);
    return r.data;
  }

  private async call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    token: string | undefined,
    ok: readonly number[] = [200],
    timeoutMs = this.opts.timeoutMs ?? 30_000,
  ): Promise<unknown> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new GatehouseClientError(
        'client.unreachable',
        0,
        `gateway ${this.base} unreachable: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new GatehouseClientError(
        'client.bad_response',
        res.status,
        `${method} ${path}: HTTP ${res.status}, not JSON`,
      );
    }
    if (!ok.includes(res.status)) {
      const e = ErrorBody.safeParse(json);
      throw new GatehouseClientError(
        e.success ? e.data.error : 'client.http_error',
        res.status,
        `${method} ${path}: HTTP ${res.status}${e.success && e.data.message ? `: ${e.data.message}` : ''}`,
      );
    }
    return json;
  }
}
