import { chownSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import type { SandboxResult } from '../../src/sandbox/runner.js';
import { GatewayProcess, sharedMasterKey } from '../helpers/gateways.js';
import { freshSchema, type PgServer, startPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Quarantine on one gateway kills the agent's running sandboxes on another: two real gateway processes on one real
 * PostgreSQL, real bubblewrap. The identity poll is set to a minute, so only the store's change signal can be fast.
 */
let server: PgServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const SANDBOX_UID = 65534;

describe('quarantine across gateways', () => {
  it('kills the agent’s long-running sandbox on gateway B within about a second, audited on B', async () => {
    const config = {
      version: 1,
      store: { schema: freshSchema('qkill') },
      identity: { sync_interval: '60s', agents: { w: { roles: ['worker'] }, k: { roles: ['worker'] } } },
      roles: { worker: { grants: [{ tools: ['fs.read'] }] } },
      tools: { 'fs.read': { risk: 'low' } },
    };
    const masterKey = sharedMasterKey();
    const ws = tempDir();
    if (process.getuid?.() === 0) chownSync(ws.dir, SANDBOX_UID, SANDBOX_UID);
    const a = await GatewayProcess.start('A', { url: server.url, masterKey, config });
    const b = await GatewayProcess.start('B', { url: server.url, masterKey, config });
    try {
      const victim = b.call<SandboxResult>('sandbox.run', ['sleep', '30'], { workspace: ws.dir, agent: 'w' });
      const bystander = b.call<SandboxResult>('sandbox.run', ['sh', '-c', 'sleep 4; echo alive'], {
        workspace: ws.dir,
        agent: 'k',
      });
      for (let i = 0; i < 200 && (await b.call<string[]>('sandbox.active')).length < 2; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await b.call<string[]>('sandbox.active')).toHaveLength(2);
      const ordered = Date.now();
      await a.call('responder.quarantine', 'w', 'compromised in test', 'operator:ops');
      const v = await victim;
      const after = Date.now() - ordered;
      expect(v.signal).toBe('SIGKILL');
      expect(after).toBeLessThan(3000);
      expect((await bystander).stdout).toBe('alive\n');
      const killed = (await b.call<AuditEvent[]>('auditQuery', { type: 'response' })).filter(
        (e) => e.type === 'response.sandboxes_killed',
      );
      expect(killed).toHaveLength(1);
      expect(killed[0]).toMatchObject({ agent: 'w', data: { killed: 1, to: 'quarantined' } });
      const onA = await a.call<AuditEvent[]>('auditQuery', { type: 'response' });
      expect(onA.map((e) => e.type)).toContain('response.quarantined');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      ws.cleanup();
    }
  }, 120_000);
});
