import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EXAMPLE_CONFIG } from '../../src/config/example.js';
import { parseConfig } from '../../src/config/load.js';
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
  it('the committed JSON Schema is generated from the zod schema and up to date', () => {
    const committed = JSON.parse(readFileSync(new URL('../../schema/gatehouse.schema.json', import.meta.url), 'utf8'));
    const fresh = JSON.parse(JSON.stringify(z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' })));
    expect(committed).toEqual({ ...fresh, title: committed.title, $id: committed.$id });
  });
});
