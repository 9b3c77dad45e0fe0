import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isMap, isSeq, parseDocument } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { parseConfig } from './load.js';

/** A tools entry to add, with the comment lines written above it (why each field is what it is). */
export interface NewToolEntry {
  name: string;
  entry: Record<string, unknown>;
  comment?: readonly string[];
}

export interface CatalogueEdit {
  tools: readonly NewToolEntry[];
  /** Adds one grant of exactly these tools to this role (created when missing). */
  grant?: { role: string; tools: readonly string[] };
}

/**
 * Adds tool entries (and a grant) to gatehouse.yaml text, keeping everything else as written, comments included.
 * An entry whose name the catalogue already has is left alone, never overwritten. The result is validated as a
 * whole before it is returned, so an edit can never produce a configuration that does not load.
 *
 * @example
 * const next = addToCatalogue(text, { tools: [{ name: 'fs.read', entry: { risk: 'low' } }] }, 'gatehouse.yaml');
 */
export function addToCatalogue(text: string, edit: CatalogueEdit, file: string): { text: string; added: string[] } {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(file, undefined, '', `invalid YAML: ${doc.errors[0]!.message}`);
  if (!isMap(doc.contents)) throw new ConfigError(file, 1, '', 'expected a mapping with version: 1');
  if (!doc.has('tools') || doc.get('tools') === null) doc.set('tools', doc.createNode({}));
  const tools = doc.get('tools');
  if (!isMap(tools)) throw new ConfigError(file, undefined, 'tools', 'expected a mapping of tool names');
  const added: string[] = [];
  for (const t of edit.tools) {
    if (tools.has(t.name)) continue;
    const pair = doc.createPair(t.name, t.entry);
    if (t.comment && t.comment.length > 0) pair.key = withComment(doc.createNode(t.name), t.comment);
    tools.items.push(pair);
    added.push(t.name);
  }
  if (edit.grant && edit.grant.tools.length > 0) {
    if (!doc.has('roles') || doc.get('roles') === null) doc.set('roles', doc.createNode({}));
    const roles = doc.get('roles');
    if (!isMap(roles)) throw new ConfigError(file, undefined, 'roles', 'expected a mapping of role names');
    if (!roles.has(edit.grant.role)) roles.set(edit.grant.role, doc.createNode({ grants: [] }));
    const role = roles.get(edit.grant.role);
    if (!isMap(role)) throw new ConfigError(file, undefined, `roles.${edit.grant.role}`, 'expected a mapping');
    if (!role.has('grants') || role.get('grants') === null) role.set('grants', doc.createNode([]));
    const grants = role.get('grants');
    if (!isSeq(grants)) throw new ConfigError(file, undefined, `roles.${edit.grant.role}.grants`, 'expected a list');
    grants.items.push(doc.createNode({ tools: [...edit.grant.tools] }, { flow: false }));
  }
  const next = doc.toString({ lineWidth: 0 });
  parseConfig(next, file);
  return { text: next, added };
}

function withComment<T extends { commentBefore?: string | null }>(node: T, lines: readonly string[]): T {
  node.commentBefore = lines.map((l) => ` ${l}`).join('\n');
  return node;
}

/**
 * Replaces a file atomically (write beside it, then rename), keeping its mode, so a crash or a full disk never
 * leaves a half-written configuration.
 */
export function replaceFile(file: string, text: string): void {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const mode = statSync(file).mode & 0o777;
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The text of a configuration file, or a ConfigError naming it. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, undefined, '', `cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
