import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const CONFIG = `version: 1
identity:
  agents:
    mailer: { roles: [assistant] }
    intern: { roles: [] }
roles:
  reader:
    grants:
      - tools: ["fs.read"]
        resources: ["workspace/**"]
  assistant:
    inherits: [reader]
    grants:
      - id: send-mail
        tools: ["email.send"]
tools:
  fs.read: { risk: low, args: { path: { deny: ["**/.env"] } } }
  email.send: { risk: high, sink: external }
approvals: { expiry: 15m }
`;

describe('CLI: approvals, grants and policy work', () => {
  const tmp = tempDir();
  const cwd = tmp.dir;
  const run = (args: string[], input?: string) => gatehouse(args, { cwd, ...(input !== undefined ? { input } : {}) });
  const email = (to: string) =>
    JSON.stringify({ kind: 'tool_call', agent: 'mailer', session: 's1', tool: 'email.send', args: { to } });

  beforeAll(async () => {
    writeFileSync(join(cwd, 'gatehouse.yaml'), CONFIG);
    writeFileSync(join(cwd, 'notes.txt'), 'hello');
    expect((await run(['init'])).code).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('an email waits for approval (exit 4), is approved once for exactly those arguments, and runs (exit 0)', async () => {
    const first = await run(['decide'], email('bob@example.com'));
    expect(first.code).toBe(4);
    const id = JSON.parse(first.stdout).approvalRequest as string;
    const shown = await run(['approvals', 'show', id]);
    expect(shown.stdout).toContain('bob@example.com');
    expect(shown.stdout).toContain('sha256:');
    const approved = await run(['approvals', 'approve', id, '--reason', 'expected', '--as', 'carol', '--json']);
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({
      status: 'approved',
      approver: 'operator:carol',
      reason: 'expected',
    });
    expect((await run(['decide'], email('eve@evil.example'))).code).toBe(4);
    const ok = await run(['decide'], email('bob@example.com'));
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).approval).toMatchObject({ id, approver: 'operator:carol' });
  });

  it('runtime grants: add and revoke, each bumping the policy epoch', async () => {
    const read = JSON.stringify({ kind: 'tool_call', agent: 'intern', tool: 'fs.read', args: { path: 'notes.txt' } });
    expect((await run(['decide'], read)).code).toBe(3);
    const added = await run([
      'grants',
      'add',
      'intern',
      '--tool',
      'fs.read',
      '--resource',
      'workspace/*.txt',
      '--ttl',
      '1h',
      '--as',
      'carol',
      '--json',
    ]);
    expect(added.code).toBe(0);
    const g = JSON.parse(added.stdout);
    expect((await run(['decide'], read)).code).toBe(0);
    const revoked = JSON.parse((await run(['grants', 'revoke', g.id, '--json'])).stdout);
    expect(revoked.revoked).toEqual([g.id]);
    expect(revoked.policyEpoch).toBe(g.policyEpoch + 1);
    expect((await run(['decide'], read)).code).toBe(3);
  });

  it('policy explain names the deciding rules and exits like decide', async () => {
    writeFileSync(
      join(cwd, 'read.json'),
      JSON.stringify({ kind: 'tool_call', agent: 'mailer', tool: 'fs.read', args: { path: 'notes.txt' } }),
    );
    writeFileSync(join(cwd, 'mail.json'), email('x@example.com'));
    const ok = await run(['policy', 'explain', 'read.json', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      outcome: 'allow',
      resource: 'workspace/notes.txt',
      policy: { permits: ['roles.reader.grants.0'] },
    });
    expect((await run(['policy', 'explain', 'mail.json'])).code).toBe(4);
  });

  it('policy test runs YAML cases and fails on a wrong expectation', async () => {
    const dir = join(cwd, 'cases');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'mail.yaml'),
      `cases:
  - name: reader reads notes
    action: { kind: tool_call, agent: mailer, tool: fs.read, args: { path: notes.txt } }
    expect: { effect: allow, reasons: [policy.permit], rules: [roles.reader.grants.0] }
  - name: mail needs a human
    action: { kind: tool_call, agent: mailer, tool: email.send, args: { to: x@example.com } }
    expect: { effect: review, rules: [send-mail] }
  - name: after untrusted instructions even a read needs a human
    action: { kind: tool_call, agent: mailer, tool: fs.read, args: { path: notes.txt } }
    labels: [untrusted_instructions]
    expect: { effect: review, reasons: [risk.label.untrusted_instructions] }
  - name: intern cannot mail
    action: { kind: tool_call, agent: intern, tool: email.send, args: { to: x@example.com } }
    expect: { effect: deny, reasons: [policy.no_permit] }
`,
    );
    const pass = await run(['policy', 'test', dir, '--json']);
    expect(pass.code, pass.stdout + pass.stderr).toBe(0);
    expect(JSON.parse(pass.stdout)).toMatchObject({ passed: 4, failed: 0 });
    writeFileSync(
      join(dir, 'wrong.yaml'),
      `cases:
  - name: wrong on purpose
    action: { kind: tool_call, agent: intern, tool: fs.read, args: { path: notes.txt } }
    expect: { effect: allow }
`,
    );
    const fail = await run(['policy', 'test', dir]);
    expect(fail.code).toBe(1);
    expect(fail.stdout).toContain('FAIL  wrong on purpose: expected allow, got deny');
  });

  it('policy replay reports decisions the current policy decides differently; validate type-checks (exit 2)', async () => {
    // The intern's reads were allowed under the revoked runtime grant: replay shows they would be denied now.
    const replay = JSON.parse((await run(['policy', 'replay', '--json'])).stdout);
    expect(replay.replayed).toBeGreaterThan(0);
    expect(replay.changed).toEqual([
      expect.objectContaining({ agent: 'intern', tool: 'fs.read', was: 'permit', now: 'deny' }),
    ]);
    // A candidate config replays against live data without becoming the live policy.
    const candidate = join(cwd, 'candidate.yaml');
    writeFileSync(candidate, CONFIG.replace('tools: ["fs.read"]', 'tools: ["fs.read", "email.send"]'));
    const loadsBefore = (await run(['audit', 'query', '--type', 'policy.loaded', '--json'])).stdout;
    const tried = await run(['--config', candidate, 'policy', 'replay', '--json']);
    expect(tried.code, tried.stderr).toBe(0);
    expect(JSON.parse(tried.stdout).policyEpoch).toBe(replay.policyEpoch);
    expect((await run(['audit', 'query', '--type', 'policy.loaded', '--json'])).stdout).toBe(loadsBefore);
    const bad = tempDir();
    writeFileSync(
      join(bad.dir, 'gatehouse.yaml'),
      CONFIG.replace('id: send-mail', 'id: send-mail\n        when: "context.hour >"'),
    );
    const r = await gatehouse(['policy', 'validate'], { cwd: bad.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('roles.assistant.grants[0].when');
    bad.cleanup();
  });
});
