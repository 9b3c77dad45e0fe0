import { posix } from 'node:path';
import { goString, list, nodeType, type ShNode, walk } from './ast.js';
import type { Word } from './command.js';
import { DOWNLOADERS } from './programs.js';

/** Shell words after quote removal: what bash would pass to the program, or null parts known only at run time. */

/** ANSI-C quoting (`$'\x72\x6d'`): decode escapes so the word is what bash would pass. */
function decodeAnsiC(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[++i]!;
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      e: '\x1b',
      E: '\x1b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      "'": "'",
      '"': '"',
      '?': '?',
    };
    if (n in simple) out += simple[n];
    else if (n === 'x' || n === 'u' || n === 'U') {
      const max = n === 'x' ? 2 : n === 'u' ? 4 : 8;
      let hex = '';
      while (hex.length < max && /[0-9a-fA-F]/.test(s[i + 1] ?? '')) hex += s[++i];
      out += hex ? String.fromCodePoint(Number.parseInt(hex, 16)) : `\\${n}`;
    } else if (n >= '0' && n <= '7') {
      let oct = n;
      while (oct.length < 3 && /[0-7]/.test(s[i + 1] ?? '')) oct += s[++i];
      out += String.fromCharCode(Number.parseInt(oct, 8) & 0xff);
    } else if (n === 'c' && i + 1 < s.length) {
      out += String.fromCharCode(s[++i]!.charCodeAt(0) & 0x1f);
    } else out += `\\${n}`;
  }
  return out;
}

/** Backslash removal outside quotes: `\x` is `x`, a backslash-newline disappears. */
function unescapeUnquoted(s: string): string {
  return s.replace(/\\(\n|.)/gs, (_m, c: string) => (c === '\n' ? '' : c));
}

/** Inside double quotes a backslash escapes only `$`, `` ` ``, `"`, `\` and newline. */
function unescapeDouble(s: string): string {
  return s.replace(/\\([$`"\\\n])/g, (_m, c: string) => (c === '\n' ? '' : c));
}

export function containsDownloader(n: ShNode): boolean {
  let found = false;
  walk(n, (x) => {
    if (found) return false;
    if (nodeType(x) === 'CallExpr') {
      const first = list(x.Args)[0];
      const w = first ? wordOf(first) : undefined;
      if (w?.value && DOWNLOADERS.has(posix.basename(w.value))) found = true;
    }
    return true;
  });
  return found;
}

export function wordOf(w: ShNode): Word {
  let value: string | null = '';
  let prefix = '';
  let downloads = false;
  let expands = false;
  const add = (text: string | null) => {
    if (text === null) {
      if (value !== null) prefix = value;
      value = null;
    } else if (value !== null) value += text;
  };
  const part = (p: ShNode, quoted: boolean) => {
    const t = nodeType(p);
    if (t === 'Lit') {
      const raw = goString(p.Value);
      if (!quoted && (/(^|[^\\])[*?[]/.test(raw) || /(^|[^\\])\{[^}]*(,|\.\.)[^}]*\}/.test(raw))) expands = true;
      add(quoted ? unescapeDouble(raw) : unescapeUnquoted(raw));
    } else if (t === 'SglQuoted') add(p.Dollar ? decodeAnsiC(goString(p.Value)) : goString(p.Value));
    else if (t === 'DblQuoted') for (const q of list(p.Parts)) part(q, true);
    else {
      if ((t === 'CmdSubst' || t === 'ProcSubst') && containsDownloader(p)) downloads = true;
      add(null);
    }
  };
  for (const p of list(w.Parts)) part(p, false);
  return { value, prefix: value ?? prefix, downloads, ...(expands ? { expands } : {}) };
}
