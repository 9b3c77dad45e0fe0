import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SessionCodecs } from '../../src/core/session-record.js';
import { flowCodec, flowState, observe } from '../../src/flow/state.js';
import { SessionStore } from '../../src/store/sessions.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

const codecs = new SessionCodecs([flowCodec(100)], 600_000);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** Two "gateways": two stores opened on the same database, each with its own session cache. */
async function two(opts: { maxPerAgent?: number } = {}) {
  const t = tempDir();
  const file = `${t.dir}/gatehouse.db`;
  const sa = await openTestStore(file);
  const sb = await openTestStore(file);
  cleanups.push(async () => {
    await sa.close();
    await sb.close();
    t.cleanup();
  });
  const clock = new ManualClock(1_000_000);
  const a = await SessionStore.open(sa, clock, codecs, opts);
  const b = await SessionStore.open(sb, clock, codecs, opts);
  return { a, b, sa, sb, clock };
}

async function version(store: Store, agent: string, id: string): Promise<number | undefined> {
  return (
    await store.get<{ version: number }>('SELECT version FROM sessions WHERE agent = ? AND session = ?', [agent, id])
  )?.version;
}

describe('session records shared through the store', () => {
  it('a label committed through one gateway is judged with on the other', async () => {
    const { a, b } = await two();
    const s = await a.begin('w', 's1');
    s.writing(() => s.label('untrusted_input', 'tool result of mail.read'));
    await a.commit(s);
    const onB = await b.begin('w', 's1');
    expect([...onB.labels]).toEqual(['untrusted_input']);
    expect(onB.labelCauses.get('untrusted_input')).toBe('tool result of mail.read');
    // A second change on A reaches B too: B's cached copy is proved stale by the version.
    const s2 = await a.begin('w', 's1');
    s2.writing(() => s2.label('private_data', 'tool result of mail.read'));
    await a.commit(s2);
    expect([...(await b.begin('w', 's1')).labels].sort()).toEqual(['private_data', 'untrusted_input']);
  });

  it('two gateways committing on one session concurrently both land (merged, not overwritten)', async () => {
    const { a, b } = await two();
    const base = await a.begin('w', 's1');
    base.writing(() => base.count('turns', 1));
    await a.commit(base);
    const onA = await a.begin('w', 's1');
    const onB = await b.begin('w', 's1');
    onA.writing(() => {
      onA.label('untrusted_instructions', 'A');
      onA.setState(
        'flow',
        observe(
          flowState(onA),
          { values: [{ kind: 'email', value: 'x@evil.test' }], provenance: 'untrusted', cause: 'mail' },
          100,
        ),
      );
      onA.count('turns', 1);
    });
    onB.writing(() => {
      onB.label('private_data', 'B');
      onB.setState(
        'flow',
        observe(
          flowState(onB),
          { values: [{ kind: 'email', value: 'boss@corp.test' }], provenance: 'owner', cause: 'owner' },
          100,
        ),
      );
      onB.count('turns', 1);
    });
    await Promise.all([a.commit(onA), b.commit(onB)]);
    const after = await a.begin('w', 's1');
    expect([...after.labels].sort()).toEqual(['private_data', 'untrusted_instructions']);
    expect([...flowState(after).values.keys()].sort()).toEqual(['email:boss@corp.test', 'email:x@evil.test']);
    expect(after.counters.get('turns')).toBe(3);
  });

  it('a decision that changed nothing writes nothing', async () => {
    const { a, sa } = await two();
    const s = await a.begin('w', 's1');
    s.writing(() => s.label('flagged'));
    await a.commit(s);
    const v = await version(sa, 'w', 's1');
    const again = await a.begin('w', 's1');
    again.writing(() => again.label('flagged'));
    await a.commit(again);
    expect(await version(sa, 'w', 's1')).toBe(v);
    await a.commit(await a.begin('w', 'never-changed'));
    expect(await version(sa, 'w', 'never-changed')).toBeUndefined();
  });

  it('a corrupt stored record denies with session.corrupt instead of judging an empty session', async () => {
    const { a, b, sa } = await two();
    const s = await a.begin('w', 's1');
    s.writing(() => s.label('untrusted_instructions'));
    await a.commit(s);
    await sa.run("UPDATE sessions SET data = '{\"v\":1}', version = version + 1 WHERE agent = 'w'");
    await expect(b.begin('w', 's1')).rejects.toMatchObject({ code: 'session.corrupt' });
  });

  it('refuses a new session over the per-agent bound rather than evicting a tainted one', async () => {
    const { a, clock } = await two({ maxPerAgent: 2 });
    for (const id of ['s1', 's2']) {
      const s = await a.begin('w', id);
      s.writing(() => s.label('untrusted_instructions'));
      await a.commit(s);
    }
    const third = await a.begin('w', 's3');
    third.writing(() => third.label('flagged'));
    await expect(a.commit(third)).rejects.toMatchObject({ code: 'session.limit' });
    expect([...(await a.begin('w', 's1')).labels]).toEqual(['untrusted_instructions']);
    // Another agent is not affected, and once the idle time passes the old sessions expire and make room.
    const other = await a.begin('v', 's1');
    other.writing(() => other.label('flagged'));
    await a.commit(other);
    clock.advance(25 * 3600_000);
    const later = await a.begin('w', 's3');
    later.writing(() => later.label('flagged'));
    await a.commit(later);
    expect((await a.begin('w', 's1')).labels.size).toBe(0);
  });
});

describe('sessions through gh.decide and gh.explain', () => {
  it('explain neither creates nor writes a session; a plain allow writes nothing; content read is stored', async () => {
    const { Gatehouse } = await import('../../src/gatehouse.js');
    const { testStoreOptions } = await import('../helpers/store.js');
    const t = tempDir();
    const gh = await Gatehouse.open({
      config: {
        version: 1,
        identity: { agents: { bot: { roles: ['r'] } } },
        roles: { r: { grants: [{ tools: ['fs.read', 'web.fetch'] }] } },
        tools: { 'fs.read': { risk: 'low' }, 'web.fetch': { risk: 'low', output: 'untrusted' } },
      },
      data: t.dir,
      ...testStoreOptions(),
    });
    cleanups.push(async () => {
      await gh.close();
      t.cleanup();
    });
    const rows = async () =>
      gh.store.all<{ session: string; version: number }>('SELECT session, version FROM sessions ORDER BY session');
    const read = { kind: 'tool_call', agent: 'bot', session: 's1', tool: 'fs.read', args: { path: 'a' } } as const;
    const fetched = {
      kind: 'tool_result',
      agent: 'bot',
      session: 's1',
      tool: 'web.fetch',
      content: 'Weather: mild.',
    } as const;
    await gh.explain(fetched);
    expect(await rows()).toEqual([]);
    expect((await gh.decide(read)).effect).toBe('allow');
    expect(await rows()).toEqual([]);
    expect((await gh.decide(fetched)).effect).toBe('allow');
    const after = await rows();
    expect(after.map((r) => r.session)).toEqual(['s1']);
    await gh.explain({ ...fetched, content: 'More weather.' });
    await gh.explain({ ...fetched, session: 's2' });
    expect(await rows()).toEqual(after);
    expect([...((await gh.sessions.peek('bot', 's1'))?.labels ?? [])]).toContain('untrusted_input');
  });
});
