import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { githubToken, rand } from './fixtures.js';

let cwd: string;
let cleanup: () => void;
beforeAll(async () => {
  ({ dir: cwd, cleanup } = tempDir());
  expect((await gatehouse(['init'], { cwd })).code).toBe(0);
});
afterAll(() => cleanup());

const run = (args: string[], input = '') => gatehouse(args, { cwd, input });

describe('gatehouse redact and secrets (DESIGN.md section 4)', () => {
  it('redact: plain prints the redacted text; --json prints {redacted, findings:[{kind, start, end}]}', async () => {
    const token = githubToken();
    const text = `key ${token} mail bob@corp.test`;
    const plain = await run(['redact'], text);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe('key [REDACTED:github-pat] mail [REDACTED:email]');
    const json = await run(['redact', '--json'], text);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      redacted: 'key [REDACTED:github-pat] mail [REDACTED:email]',
      findings: [
        { kind: 'github-pat', start: 4, end: 44 },
        { kind: 'email', start: 50, end: 63 },
      ],
    });
    expect(json.stdout).not.toContain(token);
  });

  it('redact --jsonl: {id, text} in, {id, redacted, findings} out, in order; a bad line gets {id, error}', async () => {
    const token = githubToken();
    const input = [
      JSON.stringify({ id: 1, text: `t ${token}` }),
      'not json',
      JSON.stringify({ id: 'b', text: 'clean' }),
      JSON.stringify({ id: 3 }),
    ].join('\n');
    const r = await run(['redact', '--jsonl'], input);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({
      id: 1,
      redacted: 't [REDACTED:github-pat]',
      findings: [{ kind: 'github-pat', start: 2, end: 42 }],
    });
    expect(lines[1]).toMatchObject({ id: null, error: expect.stringContaining('invalid JSON') });
    expect(lines[2]).toEqual({ id: 'b', redacted: 'clean', findings: [] });
    expect(lines[3]).toMatchObject({ id: 3, error: expect.stringContaining('text') });
  });

  it('secrets put reads the value from stdin only; list never shows values; rm removes; vault values are redacted', async () => {
    const value = `vault-${rand(24)}`;
    const put = await run(['secrets', 'put', 'api_token', '--agent', 'bot', '--tool', 'http.get'], `${value}\n`);
    expect(put.code).toBe(0);
    expect(put.stdout + put.stderr).not.toContain(value);
    const list = await run(['secrets', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).credentials).toEqual([
      expect.objectContaining({ name: 'api_token', agents: ['bot'], tools: ['http.get'] }),
    ]);
    expect(list.stdout).not.toContain(value);
    expect((await run(['redact'], `echo ${Buffer.from(value).toString('base64')}`)).stdout).toBe(
      'echo [REDACTED:known_secret]',
    );
    expect((await run(['secrets', 'put', 'x', '--agent', 'bot', '--tool', 't'], '')).code).toBe(2);
    expect((await run(['secrets', 'put', 'x', value])).code).toBe(2);
    expect((await run(['secrets', 'rm', 'api_token'])).code).toBe(0);
    expect((await run(['secrets', 'rm', 'api_token'])).code).toBe(2);
  });
});
