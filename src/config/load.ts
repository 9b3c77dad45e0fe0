import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { type Config, ConfigSchema } from './schema.js';

/** Parses and validates gatehouse.yaml text; errors name the file, line and key path and what was expected. */
export function parseConfig(text: string, file = 'gatehouse.yaml'): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = lineCounter.linePos(yamlError.pos[0]).line;
    throw new ConfigError(file, line, '', `invalid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || raw === undefined)
    throw new ConfigError(file, 1, '', 'the file is empty; expected a mapping with version: 1');
  const result = ConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  throw new ConfigError(file, lineOf(doc, lineCounter, path), path.map(String).join('.'), describeIssue(issue));
}

/** Validates an already-parsed config object (library use). */
export function validateConfig(raw: unknown, source = '<config object>'): Config {
  const result = ConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new ConfigError(source, undefined, issue.path.map(String).join('.'), describeIssue(issue));
}

export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      file,
      undefined,
      '',
      code === 'ENOENT' ? "file not found (run 'gatehouse init')" : `cannot read: ${code}`,
    );
  }
  return parseConfig(text, file);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type')
    return `expected ${issue.expected}${issue.input === undefined ? ' (missing)' : ''}`;
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  return issue.message;
}

/** The line of the deepest node on the path that exists in the document. */
function lineOf(
  doc: ReturnType<typeof parseDocument>,
  lc: LineCounter,
  path: readonly PropertyKey[],
): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}
