import { describe, expect, it } from 'vitest';
import { formatIssue, locateIssues, parseConfig } from '../../src/config/load.js';
import { lintPolicy } from '../../src/policy/lint.js';

const NOW = Date.UTC(2026, 5, 1);

const TEXT = [
  'version: 1',
  'tools:',
  '  fs.read: { risk: low }',
  '  shell.exec: { risk: high }',
  'roles:',
  '  r:',
  '    grants:',
  '      - tools: [fs.raed]',
  '      - tools: [fs.read]',
  '        expires: 2026-01-01T00:00:00Z',
  '      - tools: ["fs.*"]',
  '      - tools: [shell.exec]',
  'policy:',
  '  forbid:',
  '    - tools: [shell.exec]',
  '    - tools: ["mcp.*"]',
  '      when: context.hour > 20',
  '',
].join('\n');

describe('policy validate --strict: rules that can never match', () => {
  it('flags unknown tools, expired grants, grants shadowed by a forbid and forbids the catalogue shadows', () => {
    const config = parseConfig(TEXT, 'g.yaml');
    const issues = locateIssues(TEXT, lintPolicy(config, NOW));
    expect(issues.map((i) => [i.line, i.path])).toEqual([
      [8, 'roles.r.grants[0].tools[0]'],
      [10, 'roles.r.grants[1].expires'],
      [12, 'roles.r.grants[3].tools'],
      [16, 'policy.forbid[1].tools[0]'],
    ]);
    expect(formatIssue('g.yaml', issues[0]!)).toMatch(
      /^g\.yaml:8: roles\.r\.grants\[0\]\.tools\[0\]: found tool "fs\.raed", which names no tool of the catalogue \(fs\.read, shell\.exec\)/,
    );
    expect(issues[3]!.message).toMatch(/the catalogue already denies it/);
  });
  it('flags condition literals in a spelling normalised arguments never have', () => {
    const text = [
      'version: 1',
      'tools:',
      '  "mcp.resource:fs": { risk: low }',
      'policy:',
      '  forbid:',
      '    - tools: ["mcp.resource:fs"]',
      `      when: "action.args.uri == 'file:///srv/My%20Docs/a' || action.args.uri.startsWith('file:///srv/docs/')"`,
      '',
    ].join('\n');
    const issues = locateIssues(text, lintPolicy(parseConfig(text), NOW));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('policy.forbid[0].when');
    expect(issues[0]!.message).toContain('expected "file:///srv/My Docs/a"');
  });
  it('a clean file has no problems', () => {
    const clean = parseConfig(
      'version: 1\ntools:\n  fs.read: { risk: low }\nroles:\n  r:\n    grants:\n      - tools: ["fs.*"]\n',
    );
    expect(lintPolicy(clean, NOW)).toEqual([]);
  });
});
