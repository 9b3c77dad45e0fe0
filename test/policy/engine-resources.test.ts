import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { ActionSchema } from '../../src/core/action.js';
import { ManualClock } from '../../src/core/clock.js';
import { PolicyEngine } from '../../src/policy/stage.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../helpers/store.js';

/** Through PolicyEngine.evaluate (what the authorize stage runs) with a real store and a real workspace. */
describe('PolicyEngine: every path of a call reaches the policy', () => {
  const ws = mkdtempSync(join(tmpdir(), 'gh-eng-res-'));
  mkdirSync(join(ws, 'public'));
  mkdirSync(join(ws, 'secrets'));
  writeFileSync(join(ws, 'public', 'a.md'), 'a');
  writeFileSync(join(ws, 'secrets', 'k'), 'k');
  let store: Store;
  let engine: PolicyEngine;
  afterAll(async () => {
    await store.close();
    rmSync(ws, { recursive: true, force: true });
  });
  const config = ConfigSchema.parse({
    version: 1,
    tools: {
      read_multiple_files: { risk: 'low', args: { paths: {} } },
      move: { risk: 'low' },
      'web.fetch': { risk: 'low' },
      'mcp.resource:fs': { risk: 'low' },
      pay: { risk: 'low' },
      pay_typed: { risk: 'low', args: { amount: { type: 'number', required: true } } },
    },
    roles: {
      r: {
        grants: [
          {
            id: 'public',
            tools: ['read_multiple_files', 'move', 'mcp.resource:fs'],
            resources: ['workspace/public/**'],
          },
          { id: 'web', tools: ['web.fetch', 'pay', 'pay_typed'] },
        ],
      },
    },
    policy: {
      forbid: [
        { id: 'no-secrets', tools: ['*'], resources: ['workspace/secrets/**'] },
        { id: 'big', tools: ['pay', 'pay_typed'], when: 'action.args.amount > 1000' },
      ],
    },
  });
  beforeAll(async () => {
    store = await openTestStore();
    engine = await PolicyEngine.open({ config, store, clock: new ManualClock(), workspace: ws });
  });
  const decide = (tool: string, args: Record<string, unknown>) =>
    engine.evaluate(
      ActionSchema.parse({ kind: 'tool_call', agent: 'a', tool, args }),
      { agent: 'a', roles: ['r'] },
      [],
    );

  it('a list of paths with a secret in second place is denied by the forbid', async () => {
    const e = await decide('read_multiple_files', { paths: ['public/a.md', 'secrets/k'] });
    expect(e.effect).toBe('deny');
    expect(e.policy?.forbids).toEqual(['no-secrets']);
    expect((await decide('read_multiple_files', { paths: ['public/a.md'] })).effect).toBe('allow');
  });
  it('move {source, destination}: the grant must cover both, the forbid sees both', async () => {
    expect((await decide('move', { source: 'public/a.md', destination: 'secrets/k' })).policy?.forbids).toEqual([
      'no-secrets',
    ]);
    const out = await decide('move', { source: 'public/a.md', destination: 'elsewhere/a.md' });
    expect(out.effect).toBe('deny');
    expect(out.reasons.map((r) => r.code)).toEqual(['policy.no_permit']);
    expect((await decide('move', { source: 'public/a.md', destination: 'public/b.md' })).effect).toBe('allow');
  });
  it('the no-secrets forbid does not block a tool that addresses no file', async () => {
    expect((await decide('web.fetch', { url: 'https://example.com/' })).effect).toBe('allow');
  });
  it('an MCP resource URI is confined by the glob in every spelling', async () => {
    expect((await decide('mcp.resource:fs', { uri: `file://${ws}/public/a.md` })).effect).toBe('allow');
    expect((await decide('mcp.resource:fs', { uri: `file://${ws}/public/%2e%2e/secrets/k` })).policy?.forbids).toEqual([
      'no-secrets',
    ]);
    expect((await decide('mcp.resource:fs', { uri: `file://${ws}/public/..%2f..%2fetc/passwd` })).effect).toBe('deny');
  });
  it('a forbid erroring on agent-supplied arguments denies; a declared type denies before the policy', async () => {
    for (const amount of ['5000', [5000], undefined]) {
      const e = await decide('pay', amount === undefined ? {} : { amount });
      expect(e.effect).toBe('deny');
      expect(e.reasons.map((r) => r.code)).toEqual(['policy.forbid.condition_error']);
    }
    expect((await decide('pay', { amount: 10 })).effect).toBe('allow');
    const typed = await decide('pay_typed', { amount: '5000' });
    expect(typed.effect).toBe('deny');
    expect(typed.reasons.map((r) => r.code)).toEqual(['args.type']);
  });
});
