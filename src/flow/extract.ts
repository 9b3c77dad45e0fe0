import RE2 from 're2';
import type { DestinationKind } from '../config/sections/tools.js';
import { findUrls } from '../core/urls.js';

/** The kinds a destination value is compared as; `url` arguments are compared by host. */
export type ValueKind = 'email' | 'host' | 'url' | 'account' | 'phone' | 'path' | 'handle' | 'command';

/** One destination-like value, normalised so two spellings of the same destination compare equal. */
export interface FlowValue {
  kind: ValueKind;
  value: string;
}

// RE2: linear-time matching on untrusted text, whatever the input.
const EMAIL = new RE2('[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\\.){1,8}[A-Za-z]{2,24}', 'g');
const HOST = new RE2('(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.){1,8}[A-Za-z]{2,24}', 'g');
const IBAN = new RE2('\\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\\b', 'g');
const DIGITS = new RE2('\\b[0-9](?:[ -]?[0-9]){7,19}\\b', 'g');
const PHONE = new RE2('\\+[0-9](?:[ ().-]{0,2}[0-9]){6,14}', 'g');
const HANDLE = new RE2('(?:^|[^A-Za-z0-9_@.])([@#][A-Za-z0-9_][A-Za-z0-9_.-]{0,79})', 'g');
const PATH = new RE2('(?:~|\\.{1,2})?/?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+/?', 'g');
const IPV4 = new RE2('\\b(?:[0-9]{1,3}\\.){3}[0-9]{1,3}\\b', 'g');
const DIR = new RE2('(?:^|[\\s"\'(`])((?:~/|\\./)?[A-Za-z0-9_.-]+/)(?:[\\s"\'),.`]|$)', 'g');
const WORD = new RE2('[A-Za-z0-9][A-Za-z0-9_.-]{0,79}', 'g');

/** Programs whose path operands are what they destroy or move. */
const DESTRUCTIVE = new Set(['rm', 'rmdir', 'shred', 'unlink', 'truncate', 'mv', 'dd', 'srm', 'wipe']);

/** File-name extensions that make a dotted word a file, not a host. */
const FILE_EXT = new RE2(
  '\\.(?:txt|md|pdf|docx?|xlsx?|csv|json|ya?ml|ts|js|py|sh|log|png|jpe?g|toml|lock|cfg|ini|zip)$',
  'i',
);

export function normalize(kind: ValueKind, raw: string): string {
  const v = raw.trim();
  switch (kind) {
    case 'email':
    case 'host':
      return v.toLowerCase().replace(/\.$/, '');
    case 'url':
      return v.replace(/^[a-z]+:\/\//i, (s) => s.toLowerCase()).replace(/[.,;:!?]+$/, '');
    case 'account':
    case 'phone':
      return v.replace(/[\s().-]/g, '').toUpperCase();
    case 'handle':
      return v.replace(/^[@#]/, '').toLowerCase();
    case 'path':
      return normalizePath(v);
    case 'command':
      return v.replace(/\s+/g, ' ');
  }
}

function normalizePath(p: string): string {
  let v = p.replace(/\/{2,}/g, '/');
  while (v.startsWith('./')) v = v.slice(2);
  if (v.startsWith('/workspace/')) v = v.slice('/workspace/'.length);
  if (v.length > 1 && v.endsWith('/')) v = v.slice(0, -1);
  return v;
}

function push(out: Map<string, FlowValue>, kind: ValueKind, raw: string): void {
  const value = normalize(kind, raw);
  if (value.length === 0 || value.length > 512) return;
  out.set(`${kind}:${value}`, { kind, value });
}

/** Every destination-like value in a piece of text: what a later tool call could take it from. */
export function valuesInText(text: string): FlowValue[] {
  const out = new Map<string, FlowValue>();
  for (const m of text.matchAll(EMAIL)) {
    push(out, 'email', m[0]);
    push(out, 'host', m[0].slice(m[0].indexOf('@') + 1));
  }
  for (const u of findUrls(text)) {
    push(out, 'host', u.host);
    push(out, 'url', text.slice(u.start, u.end));
  }
  for (const m of text.matchAll(IPV4)) push(out, 'host', m[0]);
  for (const m of text.matchAll(DIR)) if (m[1]) push(out, 'path', m[1]);
  for (const m of text.matchAll(HOST)) if (!FILE_EXT.test(m[0])) push(out, 'host', m[0]);
  for (const m of text.matchAll(IBAN)) push(out, 'account', m[0]);
  for (const m of text.matchAll(DIGITS)) push(out, 'account', m[0]);
  for (const m of text.matchAll(PHONE)) push(out, 'phone', m[0]);
  for (const m of text.matchAll(HANDLE)) if (m[1]) push(out, 'handle', m[1]);
  for (const m of text.matchAll(PATH)) push(out, 'path', m[0]);
  for (const m of text.matchAll(WORD)) if (FILE_EXT.test(m[0])) push(out, 'path', m[0]);
  return [...out.values()];
}

/** Lower-case words of a text: names and bare handles the owner used ("reply to Bob", "post in general"). */
export function wordsOf(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(WORD)) if (m[0].length >= 2) out.add(m[0].toLowerCase().replace(/[.-]+$/, ''));
  return [...out];
}

/**
 * The destinations an argument names, by its declared kind. A URL is its host; a command is the hosts,
 * addresses and URLs it reaches plus the paths a destructive program in it operates on.
 */
export function valuesOfArgument(kind: DestinationKind, value: unknown): FlowValue[] {
  const out = new Map<string, FlowValue>();
  for (const s of strings(value)) {
    switch (kind) {
      case 'email':
        for (const m of s.matchAll(EMAIL)) push(out, 'email', m[0]);
        if (!s.includes('@')) push(out, 'handle', s);
        break;
      case 'url': {
        const urls = findUrls(s);
        if (urls.length === 0) for (const m of s.matchAll(HOST)) push(out, 'host', m[0]);
        for (const u of urls) push(out, 'host', u.host);
        break;
      }
      case 'host':
        push(out, 'host', s.replace(/^[a-z]+:\/\//i, '').replace(/[:/].*$/, ''));
        break;
      case 'account':
        push(out, 'account', s);
        break;
      case 'phone':
        push(out, 'phone', s);
        break;
      case 'handle':
        push(out, 'handle', s);
        break;
      case 'path':
        push(out, 'path', s);
        break;
      case 'command':
        for (const v of valuesOfCommand(s)) out.set(`${v.kind}:${v.value}`, v);
        break;
    }
  }
  return [...out.values()];
}

function valuesOfCommand(cmd: string): FlowValue[] {
  const out = new Map<string, FlowValue>();
  for (const m of cmd.matchAll(EMAIL)) push(out, 'email', m[0]);
  for (const u of findUrls(cmd)) push(out, 'host', u.host);
  for (const m of cmd.matchAll(IPV4)) push(out, 'host', m[0]);
  // Hosts of scp/ssh/rsync targets (user@host:path) and bare hosts after network tools.
  for (const m of cmd.matchAll(HOST))
    if (!FILE_EXT.test(m[0]) && /[a-z]/i.test(m[0].slice(-2))) push(out, 'host', m[0]);
  for (const seg of cmd.split(/&&|\|\||[;|\n]/)) {
    const words = seg.trim().split(/\s+/);
    const prog = (words[0] ?? '').replace(/^.*\//, '');
    const args = prog === 'sudo' ? words.slice(2) : words.slice(1);
    const p = prog === 'sudo' ? (words[1] ?? '') : prog;
    if (DESTRUCTIVE.has(p) || (p === 'git' && (args[0] === 'rm' || args[0] === 'clean'))) {
      for (const a of args)
        if (a && !a.startsWith('-') && a !== 'rm' && a !== 'clean') push(out, 'path', a.replace(/^["']|["']$/g, ''));
    }
  }
  // Email addresses also name a host: it is the host a lookalike check compares.
  return [...out.values()].filter((v) => !(v.kind === 'host' && out.has(`email:${v.value}`)));
}

function strings(value: unknown, depth = 0): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number') return [String(value)];
  if (depth > 8) return [];
  if (Array.isArray(value)) return value.flatMap((v) => strings(v, depth + 1));
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap((v) => strings(v, depth + 1));
  return [];
}

/** Display names bound to addresses in a trusted field ("Bob Smith <bob@example.com>"): only the name before it. */
export function bindings(text: string): Array<{ email: string; names: string[] }> {
  const out: Array<{ email: string; names: string[] }> = [];
  let last = 0;
  for (const m of text.matchAll(EMAIL)) {
    const at = m.index ?? 0;
    // At most 80 characters back, cut at the previous separator: bounded work per address.
    let before = text.slice(Math.max(last, at - 80), at);
    last = at + m[0].length;
    const cut = Math.max(
      before.lastIndexOf(','),
      before.lastIndexOf(';'),
      before.lastIndexOf('\n'),
      before.lastIndexOf(':'),
    );
    if (cut >= 0) before = before.slice(cut + 1);
    const names = wordsOf(before).filter((w) => w.length >= 3);
    if (names.length > 0) out.push({ email: normalize('email', m[0]), names });
  }
  return out;
}
