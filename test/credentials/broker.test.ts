import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditSink } from '../../src/core/audit.js';
import { ManualClock } from '../../src/core/clock.js';
import { MasterKey } from '../../src/core/masterkey.js';
import { CredentialError } from '../../src/credentials/backend.js';
import { CredentialBroker } from '../../src/credentials/broker.js';
import { EnvBackend } from '../../src/credentials/env.js';
import { LocalVault } from '../../src/credentials/vault.js';
import { createSecretScrubber } from '../../src/redact/scrub.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../helpers/store.js';

let dir: string;
let store: Store;
let vault: LocalVault;
let events: Parameters<AuditSink['append']>[0][];
let broker: CredentialBroker;
const TOKEN = `ghp_${randomBytes(18).toString('hex')}`;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-broker-'));
  store = await openTestStore(join(dir, 'gatehouse.db'));
  vault = await LocalVault.open(store, MasterKey.fromBytes(randomBytes(32)), new ManualClock());
  await vault.put('github_token', TOKEN, { agents: ['triage-bot'], tools: ['http.get'] });
  events = [];
  broker = await CredentialBroker.open(
    [
      vault,
      new EnvBackend(
        { npm: { var: 'NPM_TOKEN', agents: ['*'], tools: ['npm.publish'] } },
        { NPM_TOKEN: 'npm-env-value-1' },
      ),
    ],
    {
      append: async (e) => {
        events.push(e);
      },
    },
  );
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('CredentialBroker', () => {
  it('resolves handles only at execution, in scope; the agent-visible arguments keep the handle', async () => {
    const args = { url: 'https://api.github.com/user', headers: { authorization: 'token {{secret:github_token}}' } };
    const { value, used } = await broker.resolve(args, { agent: 'triage-bot', tool: 'http.get', session: 's1' });
    expect(value.headers.authorization).toBe(`token ${TOKEN}`);
    expect(args.headers.authorization).toBe('token {{secret:github_token}}');
    expect(used).toEqual(['github_token']);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'credentials.used',
        agent: 'triage-bot',
        data: { credentials: ['github_token'], tool: 'http.get', target: 'args' },
      }),
    ]);
  });

  it('refuses (and audits) unknown handles and handles out of scope; nothing is resolved', async () => {
    await expect(
      broker.resolve({ t: '{{secret:github_token}}' }, { agent: 'other-bot', tool: 'http.get' }),
    ).rejects.toMatchObject({ code: 'credentials.out_of_scope' });
    await expect(
      broker.resolve({ t: '{{secret:github_token}}' }, { agent: 'triage-bot', tool: 'shell.exec' }),
    ).rejects.toBeInstanceOf(CredentialError);
    await expect(
      broker.resolve({ t: '{{ secret:nope }}' }, { agent: 'triage-bot', tool: 'http.get' }),
    ).rejects.toMatchObject({ code: 'credentials.unknown' });
    expect(events.map((e) => e.type)).toEqual(['credentials.denied', 'credentials.denied', 'credentials.denied']);
    expect(
      await broker.check(
        { a: '{{secret:github_token}}', b: '{{secret:nope}}' },
        { agent: 'triage-bot', tool: 'http.get' },
      ),
    ).toEqual([
      { name: 'github_token', status: 'ok' },
      { name: 'nope', status: 'unknown' },
    ]);
  });

  it('resolves into a sandbox environment and HTTP headers from either backend', async () => {
    const env = await broker.resolveEnv(
      { NPM_TOKEN: '{{secret:npm}}', HOME: '/work' },
      { agent: 'any', tool: 'npm.publish' },
    );
    expect(env).toEqual({ NPM_TOKEN: 'npm-env-value-1', HOME: '/work' });
    const h = await broker.resolveHeaders(
      { Authorization: 'Bearer {{secret:github_token}}' },
      { agent: 'triage-bot', tool: 'http.get' },
    );
    expect(h.Authorization).toBe(`Bearer ${TOKEN}`);
    expect(events.map((e) => e.data?.target)).toEqual(['env', 'header']);
  });

  it('never puts a value into an audit event, and the scrubber removes echoed values in any encoding', async () => {
    await broker.resolve({ t: '{{secret:github_token}}' }, { agent: 'triage-bot', tool: 'http.get' });
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    const scrub = createSecretScrubber(broker.known);
    const event = { type: 'decision', data: { echoed: `result ${TOKEN}`, b64: Buffer.from(TOKEN).toString('base64') } };
    const clean = scrub(event);
    expect(JSON.stringify(clean)).not.toContain(TOKEN);
    expect(JSON.stringify(clean)).not.toContain(Buffer.from(TOKEN).toString('base64'));
    expect(clean.data.echoed).toBe('result [REDACTED:known_secret]');
  });

  it('knows every stored value for echo redaction, and forgets removed ones', async () => {
    expect(broker.known.find(`x ${TOKEN} y`)).toHaveLength(1);
    await vault.remove('github_token');
    await broker.refreshKnown();
    expect(broker.known.find(`x ${TOKEN} y`)).toHaveLength(0);
  });
});
