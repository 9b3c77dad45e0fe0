import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EXAMPLE_CONFIG } from '../../src/config/example.js';
import { ConfigIssues, parseConfig, validateConfig } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { ConfigError } from '../../src/core/errors.js';

function configError(text: string): ConfigError {
  try {
    parseConfig(text, 'g.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('accepts the example configuration init writes, with all three tiers', () => {
    const c = parseConfig(EXAMPLE_CONFIG);
    expect(c.tools['fs.read']!.risk).toBe('low');
    expect(c.tools['web.fetch']!.risk).toBe('medium');
    expect(c.tools['email.send']!.risk).toBe('high');
    expect(c.tools['shell.exec']!.sandbox).toBe('default');
    expect(c.server.port).toBe(7878);
  });
  it('names file, line and key path of a wrong type', () => {
    const e = configError('version: 1\ntools:\n  fs.read:\n    risk: extreme\n');
    expect(e.file).toBe('g.yaml');
    expect(e.line).toBe(4);
    expect(e.path).toBe('tools.fs.read.risk');
    expect(e.message).toMatch(/g\.yaml:4: tools\.fs\.read\.risk: expected one of "low", "medium", "high"/);
  });
  it('names an unknown key and its line', () => {
    const e = configError('version: 1\nserver:\n  host: 127.0.0.1\n  prot: 80\n');
    expect(e.line).toBe(4);
    expect(e.path).toBe('server.prot');
    expect(e.message).toContain('unknown key "prot"');
  });
  it('reports YAML syntax errors with their line', () => {
    const e = configError('version: 1\ntools:\n  a: [unclosed\n  b: 2\n');
    expect(e.message).toMatch(/invalid YAML/);
    expect(e.line).toBeGreaterThanOrEqual(3);
  });
  it('rejects duplicate keys, an empty file and a missing version', () => {
    expect(configError('version: 1\nversion: 1\n').message).toMatch(/invalid YAML/);
    expect(configError('').message).toMatch(/empty/);
    expect(configError('tools: {}\n').path).toBe('version');
  });
  it('parses sizes and durations and rejects nonsense with the expected form', () => {
    const c = parseConfig('version: 1\nserver: { body_limit: 2MiB }\n');
    expect(c.server.body_limit).toBe(2 * 1024 * 1024);
    const e = configError('version: 1\nserver: { body_limit: lots }\n');
    expect(e.path).toBe('server.body_limit');
    expect(e.message).toMatch(/512MiB/);
  });
  it('reports every schema problem at once, saying what was found and what was expected', () => {
    const e = configError('version: 1\ntools:\n  a: { risk: 5 }\n  b: { risk: extreme }\n  c: {}\n');
    expect(e).toBeInstanceOf(ConfigIssues);
    expect(e.code).toBe('config.invalid');
    const lines = e.message.split('\n');
    expect(lines).toEqual([
      'g.yaml:3: tools.a.risk: expected one of "low", "medium", "high", found number 5',
      'g.yaml:4: tools.b.risk: expected one of "low", "medium", "high", found the string "extreme"',
      'g.yaml:5: tools.c.risk: expected one of "low", "medium", "high", found nothing (the key is missing)',
    ]);
    expect((e as ConfigIssues).issues).toHaveLength(3);
  });
  it('a present value of the wrong type is not called missing; secret-looking values are not echoed', () => {
    const e = configError('version: 1\nserver: { port: "eighty" }\n');
    expect(e.message).toContain('found the string "eighty"');
    expect(e.message).not.toContain('missing');
    const lib = (() => {
      try {
        validateConfig({ version: 1, approvals: { webhook: { url: 'https://x.example', secret_env: 7 } } });
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('expected an error');
    })();
    expect(lib.message).toContain('found number 7');
  });
  it('CEL conditions are type-checked at load against the real shapes, every error with line and column', () => {
    const text = [
      'version: 1',
      'tools:',
      '  fs.read: { risk: low }',
      'roles:',
      '  r:',
      '    grants:',
      '      - tools: [fs.read]',
      '        when: principal.proofOfPosession',
      '      - tools: [fs.read]',
      '        when: "session.label.size() > 0"',
      '      - tools: [fs.read]',
      '        when: |',
      '          context.hour > 3 &&',
      '            action.nope == 1',
      'policy:',
      '  forbid:',
      '    - tools: ["*"]',
      '      when: "1 +"',
      '    - tools: ["*"]',
      '      roles: [ghost]',
      '',
    ].join('\n');
    const e = configError(text) as ConfigIssues;
    expect(e.issues.map((i) => [i.line, i.column, i.path])).toEqual([
      [8, 25, 'roles.r.grants[0].when'],
      [10, 24, 'roles.r.grants[1].when'],
      [14, 20, 'roles.r.grants[2].when'],
      [18, 17, 'policy.forbid[0].when'],
      [20, undefined, 'policy.forbid[1].roles[0]'],
    ]);
    expect(e.issues[0]!.message).toBe(
      'CEL condition does not type-check: found principal.proofOfPosession, expected one of the fields of principal: agent, roles, method, proofOfPossession',
    );
    expect(e.issues[3]!.message).toMatch(/invalid CEL/);
    expect(e.issues[4]!.message).toMatch(/found role "ghost", expected one of the roles defined under roles \(r\)/);
    expect(e.message.split('\n')[0]).toMatch(/^g\.yaml:8:25: roles\.r\.grants\[0\]\.when: /);
  });
  it('well-typed conditions over every documented variable load', () => {
    const c = parseConfig(
      [
        'version: 1',
        'tools:',
        '  pay: { risk: low }',
        'roles:',
        '  r:',
        '    grants:',
        '      - tools: [pay]',
        '        when: principal.proofOfPossession && principal.method == "token" && "r" in principal.roles',
        'policy:',
        '  forbid:',
        '    - tools: ["*"]',
        '      when: action.args.amount > 1000 || resource.startsWith("workspace/x") || size(resources) > 3',
        '    - tools: ["*"]',
        `      when: "'untrusted_instructions' in session.labels && context.hour >= 18 && now > timestamp('2026-01-01T00:00:00Z')"`,
        '',
      ].join('\n'),
    );
    expect(c.policy.forbid).toHaveLength(2);
  });
  it('bad argument patterns are load errors naming the tool', () => {
    const e = configError(
      "version: 1\ntools:\n  sh:\n    risk: high\n    args:\n      command: { deny: ['echo \"x'] }\n",
    );
    expect(e.path).toBe('tools.sh.args');
    expect(e.line).toBe(6);
  });
  it('the committed JSON Schema is generated from the zod schema and up to date', () => {
    const committed = JSON.parse(readFileSync(new URL('../../schema/gatehouse.schema.json', import.meta.url), 'utf8'));
    const fresh = JSON.parse(JSON.stringify(z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' })));
    expect(committed).toEqual({ ...fresh, title: committed.title, $id: committed.$id });
  });
});
