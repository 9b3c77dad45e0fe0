import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '../../src/gatehouse.js';
import { buildServer } from '../../src/server/app.js';
import { OperatorDirectory } from '../../src/server/operators.js';
import { tempDir } from '../helpers/tmp.js';

let gh: Gatehouse;
let app: FastifyInstance;
let base: string;
let cleanup: () => void;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  gh = await Gatehouse.open({
    config: {
      version: 1,
      identity: { agents: { m: { roles: ['worker'] } } },
      roles: { worker: { grants: [{ tools: ['fs.read'] }] } },
      tools: { 'fs.read': { risk: 'low' } },
      server: { body_limit: 4096 },
    },
    data: t.dir,
  });
  app = await buildServer(gh);
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await gh.close();
  cleanup();
});

type Body = { error?: string; message?: string; status?: string; policyEpoch?: number };
const body = async (r: Response) => (await r.json()) as Body;

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

describe('HTTP gateway (real server on loopback)', () => {
  it('GET /healthz', async () => {
    const r = await fetch(`${base}/healthz`);
    expect(r.status).toBe(200);
    expect(await body(r)).toMatchObject({ status: 'ok', policyEpoch: 1 });
  });
  it('POST /v1/decide without a token is 401 and decides nothing', async () => {
    const before = gh.audit.head()?.seq;
    const r = await post('/v1/decide', JSON.stringify({ kind: 'tool_call', agent: 'a', tool: 'fs.read' }));
    expect(r.status).toBe(401);
    expect((await body(r)).error).toBe('auth.missing');
    expect(gh.audit.head()?.seq).toBe(before);
  });
  it('bad JSON is 400 with a message', async () => {
    const r = await post('/v1/decide', '{"kind": ', { authorization: 'Bearer a.b.c' });
    expect(r.status).toBe(400);
    expect((await body(r)).message).toMatch(/invalid JSON/i);
  });
  it('wrong types and unknown fields are 400 naming the field', async () => {
    const r = await post('/v1/decide', JSON.stringify({ kind: 'tool_call', agent: 42, tool: 'fs.read' }), {
      authorization: 'Bearer a.b.c',
    });
    expect(r.status).toBe(400);
    expect((await body(r)).message).toMatch(/body\.agent/);
    const extra = await post('/v1/decide', JSON.stringify({ kind: 'input', agent: 'a', content: 'x', surprise: 1 }), {
      authorization: 'Bearer a.b.c',
    });
    expect(extra.status).toBe(400);
    expect((await body(extra)).message).toMatch(/surprise/);
  });
  it('an oversized body is 413', async () => {
    const r = await post('/v1/decide', JSON.stringify({ kind: 'input', agent: 'a', content: 'x'.repeat(10_000) }), {
      authorization: 'Bearer a.b.c',
    });
    expect(r.status).toBe(413);
    expect((await body(r)).error).toBe('input.too_large');
  });
  it('GET /metrics exposes decision counters in Prometheus text format', async () => {
    await gh.decide({ kind: 'tool_call', agent: 'm', tool: 'fs.read' });
    await gh.decide({ kind: 'tool_call', agent: 'm', tool: 'not.listed' });
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const agentLike = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' } });
    expect(agentLike.status).toBe(401);
    const { token } = await (await OperatorDirectory.open(gh.store, () => Date.now())).add('ops');
    const r = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).toMatch(/gatehouse_decisions_total\{effect="allow",tier="low",kind="tool_call"\} [1-9]/);
    expect(text).toMatch(/gatehouse_decision_reasons_total\{code="catalogue.tool_unknown"\} [1-9]/);
    expect(text).toContain('gatehouse_decide_seconds_bucket');
  });
  it('unknown routes are a JSON 404', async () => {
    const r = await fetch(`${base}/v1/nothing`);
    expect(r.status).toBe(404);
    expect((await body(r)).error).toBe('not_found');
  });
});
