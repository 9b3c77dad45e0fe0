import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printable, table } from '../../src/cli/output.js';
import { gatehouse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

let cwd: string;
let cleanup: () => void;
beforeAll(async () => {
  ({ dir: cwd, cleanup } = tempDir());
  expect((await gatehouse(['init'], { cwd })).code).toBe(0);
  // A high-risk call whose arguments carry terminal control sequences: it waits as a pending approval request.
  const send = {
    kind: 'tool_call',
    agent: 'demo',
    session: 's1',
    tool: 'email.send',
    args: { to: 'a@example.com', body: 'hi\u001b]0;pwned\u0007\u001b[2J\r\u202eevil' },
  };
  expect((await gatehouse(['decide', '--json'], { cwd, input: JSON.stringify(send) })).code).toBe(4);
});
afterAll(() => cleanup());

const tty = (args: string[], env: Record<string, string> = { NO_COLOR: '1' }) =>
  gatehouse(args, { cwd, isTTY: true, env: { ...process.env, ...env } });
const piped = (args: string[]) => gatehouse(args, { cwd, isTTY: false });

describe('list commands: a table on a terminal, JSON when piped or with --json', () => {
  it.each([
    [['agents', 'list'], 'agents', ['AGENT', 'STATUS', 'ROLES', 'KEY', 'GEN']],
    [['approvals', 'list'], 'approvals', ['ID', 'STATUS', 'AGENT', 'TOOL', 'ARGUMENTS', 'EXPIRES']],
    [['grants', 'list'], 'grants', ['ID', 'STATE', 'AGENT', 'TOOLS']],
    [['secrets', 'list'], 'credentials', ['NAME', 'BACKEND', 'AGENTS', 'TOOLS']],
    [['response', 'list'], 'quarantined', ['AGENT', 'SINCE', 'BY', 'REASON']],
    [['mcp', 'pins', 'list'], 'pins', ['TOOL', 'PINNED HASH']],
    [['operators', 'list'], 'operators', ['OPERATOR', 'CREATED', 'STATE']],
  ])('%j', async (args, key, header) => {
    const json = await piped(args);
    expect(json.code, json.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(json.stdout)[key])).toBe(true);
    // --json on a terminal is the same object.
    expect(JSON.parse((await tty([...args, '--json'])).stdout)).toEqual(JSON.parse(json.stdout));
    const human = await tty(args);
    expect(human.code).toBe(0);
    expect(() => JSON.parse(human.stdout)).toThrow();
    const first = human.stdout.split('\n')[0] ?? '';
    if (JSON.parse(json.stdout)[key].length > 0) for (const h of header) expect(first).toContain(h);
    else expect(human.stdout).toMatch(/^no /);
  });

  it('rows line up under their header', async () => {
    const lines = (await tty(['agents', 'list'])).stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^AGENT +STATUS +ROLES/);
    expect(lines[1]).toMatch(/^demo +active +assistant +no key +\d/);
    expect(lines[1]?.indexOf('active')).toBe(lines[0]?.indexOf('STATUS'));
  });

  it('agent-chosen text cannot drive the terminal: control and bidi characters are shown escaped', async () => {
    const out = (await tty(['approvals', 'list'])).stdout;
    expect(out).toContain('email.send');
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    // JSON.stringify already escapes C0 controls; the bidi override and what it stood for are still named.
    expect(out).toContain('\\u202e');
    expect(printable('a\u001b[31mb\u009bc\u2066d')).toBe('a\\u001b[31mb\\u009bc\\u2066d');
    expect(table(['X'], [['\u001b]0;t\u0007']], false)).toBe('X\n\\u001b]0;t\\u0007\n');
  });

  it('colour only on a terminal and never with NO_COLOR', async () => {
    expect((await tty(['agents', 'list'], { TERM: 'xterm' })).stdout).toContain('\u001b[1m');
    expect((await tty(['agents', 'list'], { NO_COLOR: '1' })).stdout).not.toContain('\u001b[');
    expect((await piped(['agents', 'list'])).stdout).not.toContain('\u001b[');
  });
});
