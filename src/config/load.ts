import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Document, isNode, isScalar, LineCounter, parseDocument, Scalar } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { compilePolicy, formatPath, PolicyError, type PolicyIssue } from '../policy/compile.js';
import { compileToolRules } from '../policy/tools.js';
import { type Config, ConfigSchema } from './schema.js';

/** One problem in a configuration file. */
export interface ConfigIssue {
  line: number | undefined;
  /** 1-based column, for problems inside a value (a CEL condition). */
  column?: number;
  path: string;
  message: string;
}

/**
 * Every problem found in a configuration file at once (schema, CEL conditions, patterns). A ConfigError (code
 * `config.invalid`) whose `line` and `path` are the first problem's; the message lists them all, one a line.
 */
export class ConfigIssues extends ConfigError {
  readonly issues: readonly ConfigIssue[];
  constructor(file: string, issues: readonly ConfigIssue[]) {
    const first = issues[0]!;
    super(file, first.line, first.path, first.message);
    this.issues = issues;
    this.message = issues.map((i) => formatIssue(file, i)).join('\n');
  }
}

/** `file:line:column: path: message` */
export function formatIssue(file: string, i: ConfigIssue): string {
  const at = i.line === undefined ? '' : i.column === undefined ? `:${i.line}` : `:${i.line}:${i.column}`;
  return `${file}${at}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/**
 * Parses and validates gatehouse.yaml text: the schema, then the policy compiled (CEL conditions type-checked,
 * roles resolved) and the tools' argument patterns. Every problem is reported at once, naming file, line (and
 * column inside a condition), key path, what was found and what was expected.
 */
export function parseConfig(text: string, file = 'gatehouse.yaml'): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigIssues(
      file,
      doc.errors.map((e) => ({
        line: lineCounter.linePos(e.pos[0]).line,
        path: '',
        message: `invalid YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || raw === undefined)
    throw new ConfigError(file, 1, '', 'the file is empty; expected a mapping with version: 1');
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigIssues(
      file,
      result.error.issues.map((issue) => {
        const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
        return {
          line: lineOf(doc, lineCounter, path),
          path: path.map(String).join('.'),
          message: describeIssue(issue, raw),
        };
      }),
    );
  }
  const compiled = checkCompiled(result.data, resolve(dirname(resolve(file)), result.data.policy.workspace ?? '.'));
  if (compiled.length > 0) throw new ConfigIssues(file, locate(doc, lineCounter, text, compiled));
  return result.data;
}

/** Places policy problems (key paths, offsets in conditions) in the file: line and column. */
export function locateIssues(text: string, issues: readonly PolicyIssue[]): ConfigIssue[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  return locate(doc, lineCounter, text, issues);
}

function locate(doc: Document, lc: LineCounter, text: string, issues: readonly PolicyIssue[]): ConfigIssue[] {
  return issues.map((i) => ({ ...positionOf(doc, lc, text, i), path: formatPath(i.path), message: i.message }));
}

/** What the engine would refuse: conditions that do not type-check, unknown roles, bad argument patterns. */
function checkCompiled(config: Config, workspace: string): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  try {
    compilePolicy({ roles: config.roles, policy: config.policy, agents: config.identity.agents });
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    issues.push(...(err.issues.length > 0 ? err.issues : [{ path: ['policy'], message: err.message }]));
  }
  for (const [name, tool] of Object.entries(config.tools)) {
    try {
      compileToolRules(name, tool, workspace);
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      issues.push({ path: ['tools', name, 'args'], message: err.message });
    }
  }
  return issues;
}

/** Validates an already-parsed config object (library use). */
export function validateConfig(raw: unknown, source = '<config object>'): Config {
  const result = ConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigIssues(
    source,
    result.error.issues.map((issue) => ({
      line: undefined,
      path: issue.path.map(String).join('.'),
      message: describeIssue(issue, raw),
    })),
  );
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

const SECRETISH = /secret|token|key|pass|cred/i;

/** What the file holds at `path`: `missing`, or its type and, for short harmless scalars, its value. */
function found(raw: unknown, path: readonly PropertyKey[]): string {
  let cur: unknown = raw;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, k)) return 'nothing (the key is missing)';
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  const last = String(path[path.length - 1] ?? '');
  if (cur === null) return 'null';
  if (Array.isArray(cur)) return `a list of ${cur.length}`;
  if (typeof cur === 'object') return 'a mapping';
  if (typeof cur === 'string') {
    return cur.length <= 40 && !SECRETISH.test(last) ? `the string ${JSON.stringify(cur)}` : 'a string';
  }
  return `${typeof cur} ${String(cur)}`;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type') return `expected ${issue.expected}, found ${found(raw, issue.path)}`;
  if (issue.code === 'invalid_value')
    return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${found(raw, issue.path)}`;
  return issue.message;
}

/** The line of the deepest node on the path that exists in the document. */
function lineOf(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}

/**
 * Line and column of a problem inside a string value (a CEL offset): exact for one-line plain and quoted scalars
 * and for literal blocks (`|`); otherwise the line where the value starts.
 */
function positionOf(
  doc: Document,
  lc: LineCounter,
  text: string,
  issue: PolicyIssue,
): { line: number | undefined; column?: number } {
  const node = doc.getIn(issue.path, true);
  if (!isScalar(node) || !node.range || issue.offset === undefined || typeof node.value !== 'string')
    return { line: lineOf(doc, lc, issue.path) };
  const start = lc.linePos(node.range[0]);
  const value = node.value;
  const offset = Math.min(issue.offset, value.length);
  const oneLine = lc.linePos(node.range[1]).line === start.line;
  if (node.type === Scalar.PLAIN && oneLine) return { line: start.line, column: start.col + offset };
  if ((node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE) && oneLine) {
    // Exact unless an escape sequence comes before the offset.
    return { line: start.line, column: start.col + 1 + offset };
  }
  if (node.type === Scalar.BLOCK_LITERAL) {
    const before = value.slice(0, offset).split('\n');
    const line = start.line + before.length;
    // The block's indentation is that of its first content line; yaml strips it from every line of the value.
    const first = lineText(lc, text, start.line + 1);
    const indent = first.length - first.trimStart().length;
    return { line, column: indent + before[before.length - 1]!.length + 1 };
  }
  return { line: start.line };
}

/** The text of a 1-based line of the source. */
function lineText(lc: LineCounter, text: string, line: number): string {
  const start = lc.lineStarts[line - 1] ?? text.length;
  return text.slice(start, lc.lineStarts[line] ?? text.length).replace(/\r?\n$/, '');
}
