import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { Gatehouse } from '../../src/gatehouse.js';
import { Tracing } from '../../src/observability/tracing.js';
import { buildServer } from '../../src/server/app.js';
import { OperatorDirectory } from '../../src/server/operators.js';
import { tempDir } from '../helpers/tmp.js';

const CONFIG: ConfigInput = {
  version: 1,
  identity: { agents: { alpha: { roles: ['worker'] }, beta: { roles: ['worker'] } } },
  roles: { worker: { grants: [{ tools: ['fs.read'] }] } },
  tools: { 'fs.read': { risk: 'low' } },
};
const OTHER = fileURLToPath(new URL('./fixtures/other-process.ts', import.meta.url));

let gh: Gatehouse;
let app: FastifyInstance;
let base: string;
let op: string;
let dir: string;
let cleanup: () => void;
const spans = new InMemorySpanExporter();

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  gh = await Gatehouse.open({ config: CONFIG, data: dir });
  app = await buildServer(gh, { tracing: new Tracing(spans, false) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  op = (await (await OperatorDirectory.open(gh.store, () => Date.now())).add('ops')).token;
});
afterAll(async () => {
  await app.close();
  await gh.close();
  cleanup();
});

/** Reads SSE messages from a fetch body until `until` returns true. */
async function readStream(
  res: Response,
  until: (msgs: Array<{ id: string; event: string; data: Record<string, unknown> }>) => boolean,
) {
  const msgs: Array<{ id: string; event: string; data: Record<string, unknown> }> = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  while (!until(msgs)) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i = buf.indexOf('\n\n');
    while (i !== -1) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const f = Object.fromEntries(
        block
          .split('\n')
          .filter((l) => !l.startsWith(':') && l.includes(': '))
          .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
      );
      if (f.data) msgs.push({ id: f.id ?? '', event: f.event ?? 'message', data: JSON.parse(f.data) });
      i = buf.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return msgs;
}

function runOther(actions: unknown[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', OTHER, dir, JSON.stringify(CONFIG), JSON.stringify(actions)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`other process exited ${code}: ${err}`))));
  });
}

describe('live event stream', () => {
  it('needs an operator token', async () => {
    expect((await fetch(`${base}/v1/events/stream`)).status).toBe(401);
  });

  it('streams decisions made by ANOTHER process on the same data dir, filtered by agent', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${base}/v1/events/stream?agent=beta`, {
      headers: { authorization: `Bearer ${op}` },
      signal: ctl.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const got = readStream(res, (m) => m.some((x) => x.data.agent === 'beta' && x.data.type === 'decision'));
    const out = await runOther([
      { kind: 'tool_call', agent: 'alpha', tool: 'fs.read' },
      { kind: 'tool_call', agent: 'beta', tool: 'fs.read' },
    ]);
    const msgs = await got;
    ctl.abort();
    const decided = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string });
    expect(msgs.every((m) => m.data.agent === 'beta')).toBe(true);
    const d = msgs.find((m) => m.event === 'decision')!;
    expect((d.data.data as { id: string }).id).toBe(decided[1]!.id);
    expect(d.id).toBe(String(d.data.seq));
  }, 60_000);

  it('replays from a seq with Last-Event-ID, then continues live', async () => {
    const a = await gh.decide({ kind: 'tool_call', agent: 'alpha', tool: 'fs.read' });
    const ctl = new AbortController();
    const res = await fetch(`${base}/v1/events/stream?type=decision`, {
      headers: { authorization: `Bearer ${op}`, 'last-event-id': String(a.auditSeq - 1) },
      signal: ctl.signal,
    });
    const got = readStream(res, (m) => m.length >= 2);
    await gh.decide({ kind: 'tool_call', agent: 'alpha', tool: 'no.such' });
    const msgs = await got;
    ctl.abort();
    expect(msgs[0]!.data.seq).toBe(a.auditSeq);
    expect(msgs[1]!.data.decision).toBe('deny');
  }, 30_000);
});

describe('OpenAPI, metrics, tracing', () => {
  it('serves an OpenAPI 3.1 document built from the route schemas', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: { content: Record<string, { schema: unknown }> };
            security?: unknown;
            parameters?: { name: string; in: string }[];
          }
        >
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    const decide = doc.paths['/v1/decide']!.post!;
    expect(decide.requestBody!.content['application/json']!.schema).toMatchObject({ type: 'object' });
    expect(doc.paths['/v1/approvals/{id}']!.get!.parameters).toEqual([
      expect.objectContaining({ name: 'id', in: 'path' }),
    ]);
    expect(doc.paths['/v1/audit/events']!.get!.security).toEqual([{ operatorToken: [] }]);
    expect(decide.security).toBeUndefined();
    expect(doc.paths['/v1/events/stream']).toBeDefined();
  });

  it('scrapes /metrics whose every family follows the Prometheus naming rules', async () => {
    await fetch(`${base}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x.y.z' },
      body: JSON.stringify({ kind: 'tool_call', agent: 'alpha', tool: 'fs.read' }),
    });
    const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${op}` } })).text();
    const families = new Map<string, string>();
    for (const line of text.split('\n')) {
      const t = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (t) families.set(t[1]!, t[2]!);
    }
    expect(families.size).toBeGreaterThan(10);
    for (const [name, type] of families) {
      expect(name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      expect(name.startsWith('gatehouse_')).toBe(true);
      if (type === 'counter') expect(name).toMatch(/_total$/);
      if (type === 'histogram') expect(name).toMatch(/_(seconds|bytes)$/);
    }
    // Every sample line parses as name{labels} value, and belongs to a declared family.
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      const m =
        /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(
          line,
        );
      expect(m, line).not.toBeNull();
      const fam = m![1]!.replace(/_(bucket|sum|count)$/, '');
      expect(families.has(m![1]!) || families.has(fam), line).toBe(true);
    }
    for (const f of [
      'gatehouse_approvals_pending',
      'gatehouse_http_decide_seconds',
      'gatehouse_process_resident_memory_bytes',
      'gatehouse_nodejs_eventloop_lag_seconds',
    ]) {
      expect(families.has(f), f).toBe(true);
    }
    expect(text).toMatch(/gatehouse_http_decide_seconds_count\{status="401"\} [1-9]/);
  });

  it('records one span per HTTP decision with the decision id and effect, and a child span per stage run', async () => {
    spans.reset();
    const r = await fetch(`${base}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x.y.z' },
      body: JSON.stringify({ kind: 'tool_call', agent: 'alpha', tool: 'fs.read' }),
    });
    const d = (await r.json()) as { id: string };
    const s = spans.getFinishedSpans();
    const top = s.filter((x) => x.name === 'gatehouse.decide');
    expect(top).toHaveLength(1);
    expect(top[0]!.parentSpanContext).toBeUndefined();
    expect(top[0]!.attributes).toMatchObject({
      'gatehouse.agent': 'alpha',
      'gatehouse.decision_id': d.id,
      'gatehouse.effect': 'deny',
      'http.response.status_code': 401,
    });
    // The bad token is denied by the first stage, so the judging stops there: one stage span, inside the decision.
    const children = s.filter((x) => x.parentSpanContext?.spanId === top[0]!.spanContext().spanId);
    expect(children.map((c) => c.name)).toEqual(['gatehouse.stage.authenticate']);
    expect(children[0]!.spanContext().traceId).toBe(top[0]!.spanContext().traceId);
    expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("continues the caller's trace from a W3C traceparent header, and ignores a malformed one", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const call = (traceparent: string) =>
      fetch(`${base}/v1/decide`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer x.y.z', traceparent },
        body: JSON.stringify({ kind: 'tool_call', agent: 'alpha', tool: 'fs.read' }),
      });
    spans.reset();
    await call(`00-${traceId}-${parent}-01`);
    let top = spans.getFinishedSpans().find((x) => x.name === 'gatehouse.decide')!;
    expect(top.spanContext().traceId).toBe(traceId);
    expect(top.parentSpanContext?.spanId).toBe(parent);
    for (const bad of [
      `00-${'0'.repeat(32)}-${parent}-01`,
      `ff-${traceId}-${parent}-01`,
      `00-${traceId}-${parent}-01-x`,
      'garbage',
    ]) {
      spans.reset();
      await call(bad);
      top = spans.getFinishedSpans().find((x) => x.name === 'gatehouse.decide')!;
      expect(top.parentSpanContext, bad).toBeUndefined();
      expect(top.spanContext().traceId, bad).not.toBe(traceId);
    }
  });

  it('exports per-stage, commit and audit-append latency histograms', async () => {
    await gh.decide({ kind: 'tool_call', agent: 'alpha', session: 'm1', tool: 'fs.read', args: {} });
    const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${op}` } })).text();
    for (const stage of ['authenticate', 'authorize']) {
      expect(text).toMatch(new RegExp(`gatehouse_stage_seconds_count\\{stage="${stage}"\\} [1-9]`));
    }
    expect(text).toMatch(/gatehouse_commit_seconds_count [1-9]/);
    expect(text).toMatch(/gatehouse_audit_append_seconds_count [1-9]/);
  });

  it('exports store latency by operation, store health, and the audit chain lag behind its signed checkpoint', async () => {
    const scrape = async () => (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${op}` } })).text();
    const value = (text: string, name: string) => {
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      expect(m, name).not.toBeNull();
      return Number(m![1]);
    };
    await gh.decide({ kind: 'tool_call', agent: 'alpha', session: 'm2', tool: 'fs.read', args: {} });
    let text = await scrape();
    expect(text).toMatch(/gatehouse_store_seconds_count\{op="get",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/gatehouse_store_seconds_count\{op="transaction",outcome="ok"\} [1-9]/);
    expect(value(text, 'gatehouse_store_up')).toBe(1);
    const head = value(text, 'gatehouse_audit_head_seq');
    expect(head).toBe(gh.audit.head()!.seq);
    expect(value(text, 'gatehouse_audit_unsigned_events')).toBe(head - (gh.audit.signedHead()?.seq ?? 0));
    // Once everything is signed the lag is zero and the checkpoint is fresh.
    await gh.audit.flush();
    expect(gh.audit.signedHead()!.seq).toBeGreaterThanOrEqual(head);
    text = await scrape();
    expect(value(text, 'gatehouse_audit_unsigned_events')).toBe(
      value(text, 'gatehouse_audit_head_seq') - gh.audit.signedHead()!.seq,
    );
    const age = value(text, 'gatehouse_audit_checkpoint_age_seconds');
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);
  });
});
