import { createRequire } from 'node:module';

// mvdan-sh is GopherJS output. Its public wrappers (Walk, NodeType, field getters) re-wrap every Go value on each
// access and cost milliseconds per command; the internal Go structs behind `__internal_object__` are plain JS
// objects, read here directly: a struct pointer's type is `constructor.string` (`*syntax.CallExpr`), a slice is
// `{$array, $offset, $length}`, a Go string is a JS string of its UTF-8 bytes.
export interface ShNode {
  readonly [key: string]: unknown;
}
export interface ShParser {
  Parse(src: string, name: string): { __internal_object__: ShNode };
}
interface ShSyntax {
  NewParser(): ShParser;
}

const require = createRequire(import.meta.url);
let syntax: ShSyntax | undefined;
function sh(): ShSyntax {
  syntax ??= (require('mvdan-sh') as { syntax: ShSyntax }).syntax;
  return syntax;
}

/** A Go nil pointer: reading its fields throws. */
export function isNil(n: unknown): boolean {
  return typeof n === 'object' && n !== null && (n.constructor as { nil?: unknown } | undefined)?.nil === n;
}

export function nodeType(n: ShNode): string {
  const t = (n.constructor as { string?: string } | undefined)?.string;
  return t?.startsWith('*syntax.') ? t.slice(8) : '';
}

export function list(v: unknown): ShNode[] {
  const sl = v as { $array?: ShNode[]; $offset?: number; $length?: number } | null | undefined;
  if (!sl || !Array.isArray(sl.$array)) return [];
  return sl.$array.slice(sl.$offset ?? 0, (sl.$offset ?? 0) + (sl.$length ?? 0));
}

/** A Go string (UTF-8 bytes as JS chars) as a JS string. */
export function goString(v: unknown): string {
  const s = String(v ?? '');
  return /[^\x00-\x7f]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

/** Visits every syntax node below `n` (pre-order); `fn` returning false skips a node's children. */
export function walk(n: ShNode, fn: (x: ShNode) => boolean, depth = 0): void {
  if (depth > 2000) throw new Error('syntax tree nested too deeply');
  if (isNil(n)) return;
  if (nodeType(n) !== '' && !fn(n)) return;
  for (const k of Object.keys(n)) {
    if (k === '$val') continue;
    const v = n[k];
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray((v as { $array?: unknown }).$array)) {
      for (const e of list(v)) if (e && typeof e === 'object') walk(e, fn, depth + 1);
    } else if (nodeType(v as ShNode) !== '') walk(v as ShNode, fn, depth + 1);
  }
}

/** The parser of top-level commands (reused); nested scripts are parsed while its tree is in use and get their own. */
let sharedParser: ShParser | undefined;

/** Parses `src` into a syntax tree; `fresh` when another tree from the shared parser is still being read. */
export function parse(src: string, fresh: boolean): ShNode {
  if (!fresh) sharedParser ??= sh().NewParser();
  const parser = !fresh && sharedParser ? sharedParser : sh().NewParser();
  return parser.Parse(src, 'command').__internal_object__;
}
