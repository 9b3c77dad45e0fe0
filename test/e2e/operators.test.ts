import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

let cwd: string;
let cleanup: () => void;
const run = (args: string[]) => gatehouse(args, { cwd });
beforeAll(async () => {
  ({ dir: cwd, cleanup } = tempDir());
  expect((await run(['init'])).code).toBe(0);
});
afterAll(() => cleanup());

describe('gatehouse operators', () => {
  it('adds an operator, shows its token once, stores only its hash, and revokes it', async () => {
    const r = await run(['operators', 'add', 'alice', '--json']);
    expect(r.code).toBe(0);
    const { token } = JSON.parse(r.stdout);
    expect(token).toMatch(/^ghop_[A-Za-z0-9_-]{43}$/);
    const db = readFileSync(join(cwd, '.gatehouse', 'gatehouse.db'));
    const wal = (() => {
      try {
        return readFileSync(join(cwd, '.gatehouse', 'gatehouse.db-wal'));
      } catch {
        return Buffer.alloc(0);
      }
    })();
    expect(db.includes(Buffer.from(token)) || wal.includes(Buffer.from(token))).toBe(false);
    expect((await run(['operators', 'add', 'alice'])).code).toBe(1);
    expect((await run(['operators', 'add', 'bad name'])).code).toBe(2);
    expect(JSON.parse((await run(['operators', 'list', '--json'])).stdout).operators).toEqual([
      expect.objectContaining({ name: 'alice', revoked: false }),
    ]);
    expect((await run(['operators', 'revoke', 'alice'])).code).toBe(0);
    expect((await run(['operators', 'revoke', 'alice'])).code).toBe(1);
    const audit = await run(['audit', 'query', '--type', 'operator', '--json']);
    const events = JSON.parse(audit.stdout).events as { type: string }[];
    expect(events.map((e) => e.type)).toEqual(['operator.added', 'operator.revoked']);
    expect(audit.stdout).not.toContain(token);
  });
});
