import { posix } from 'node:path';
import type { Reason } from '../../core/decision.js';
import { checkPath, hostPath, type PathRule } from '../paths.js';
import { type CommandAnalysis, reason, show } from './command.js';
import { at, type Cwds, cwds, tidy } from './cwd.js';
import { expandGlob, linksUnder } from './glob.js';
import { lit } from './options.js';
import { commandWrites, type WriteTarget } from './targets.js';

/**
 * What a parsed shell command writes to: redirection targets (`>`, `>>`, `2>`, `&>`, `>|`, `<>`, `>& file`) and
 * the files and directories programs write through their arguments (`tee F`, `dd of=F`, `curl -o F`, `cp … DEST`,
 * `sed -i F`, `tar -C DIR`, `rm F`, `find DIR -delete`, …). Each is checked against the same path rules as a path
 * argument. A target the rules cannot know before the command runs (`$VAR`, `$(…)`, braces, a glob that may match
 * `..`, `~`, a relative path after a `cd` they cannot follow, an option only known at run time) is denied.
 */

/** Files that are a stream, never a place: writing to them is writing to an open descriptor. */
export function isStream(p: string): boolean {
  return (
    p === '/dev/null' ||
    p === '/dev/stdout' ||
    p === '/dev/stderr' ||
    p === '/dev/tty' ||
    /^\/dev\/fd\/[0-9]+$/.test(p) ||
    /^\/proc\/self\/fd\/[0-9]+$/.test(p)
  );
}

/** `globs`: the glob patterns among the targets (cwd-joined), whose base directories are in `paths`. */
type Resolved = { paths: string[]; globs?: string[]; nofollow: boolean; links?: boolean } | { unresolved: string };

/** Whether a path's last component is a name (`a`, `d/a`), not `.`, `..` or a trailing `/` that follows a link. */
const NAMED = (v: string) => !/(^|\/)\.{0,2}$/.test(v);

/** The paths a target may name (`..` kept), or why it cannot be known. */
export function resolveTarget(t: WriteTarget, dirs: Cwds, cwdUnknown: boolean): Resolved {
  if (t.unresolved) return { unresolved: t.unresolved };
  const w = t.word;
  if (w.findMatch) return { paths: [], nofollow: false }; // find's `{}`: a match below the start paths, which are checked
  if (w.value === null) return { unresolved: `${t.by} writes to a target only known at run time` };
  let v = w.value;
  let glob: string | undefined;
  if (w.expands) {
    if (v.includes('{')) return { unresolved: `${t.by} target ${v} has brace expansion` };
    const segs = v.split('/');
    const g = segs.findIndex((s) => s.includes('*') || s.includes('?') || s.includes('['));
    if (g >= 0) {
      if (segs.slice(g).some((s) => s === '..' || (s.startsWith('.') && s !== '.')))
        return { unresolved: `${t.by} target ${v} is a glob that may match ..` };
      glob = v;
      v = segs.slice(0, g).join('/') || (v.startsWith('/') ? '/' : '.');
    }
  }
  if (v.startsWith('~')) return { unresolved: `${t.by} target ${v} starts with ~, a home directory` };
  if (v === '') return { unresolved: `${t.by} target is empty` };
  const nofollow = t.nofollow === true && NAMED(w.value);
  const links = t.links ? { links: true } : {};
  if (v.startsWith('/')) return { paths: [tidy(v)], ...(glob ? { globs: [tidy(glob)] } : {}), nofollow, ...links };
  if ('unknown' in dirs) return { unresolved: `${t.by} target ${v} is relative, and ${dirs.unknown}` };
  if (cwdUnknown) return { unresolved: `${t.by} target ${v} is relative to a directory only known at run time` };
  const bases: string[] = [];
  for (const b of t.bases ?? [lit('.')]) {
    if (b.value === null || b.expands) return { unresolved: `${t.by} target ${v} is relative to a run-time directory` };
    bases.push(b.value);
  }
  const paths = new Set<string>();
  const globs = new Set<string>();
  for (const d of dirs.dirs)
    for (const b of bases) {
      paths.add(tidy(at(at(d, b), v)));
      if (glob) globs.add(tidy(at(at(d, b), glob)));
    }
  return { paths: [...paths], ...(glob ? { globs: [...globs] } : {}), nofollow, ...links };
}

/** A stream (`/dev/null`) as written: with a `..` the name may be a file elsewhere, so it is checked. */
function writesStream(p: string): boolean {
  return !p.split('/').includes('..') && isStream(posix.normalize(p));
}

interface Located {
  target: WriteTarget;
  evidence: string;
  cwdUnknown: boolean;
}

/** Every write target of an analysis: redirections (of nested scripts too) and command arguments. */
export function allWrites(a: CommandAnalysis): Located[] {
  const out: Located[] = [];
  const redirs = (x: CommandAnalysis, moved: boolean) => {
    const here = moved || x.cwdUnknown === true;
    for (const w of x.redirects ?? [])
      out.push({ target: { word: w, by: 'redirection' }, evidence: w.value ?? `${w.prefix}$?`, cwdUnknown: here });
    for (const n of x.nested) redirs(n, here);
  };
  redirs(a, false);
  for (const c of a.commands)
    for (const t of commandWrites(c)) out.push({ target: t, evidence: show(c), cwdUnknown: c.cwdUnknown === true });
  return out;
}

/**
 * Checks every path the command writes to against `rule` (the path rules of the tool's path arguments):
 * `args.command.write_escape` / `write_symlink_escape` / `write_denied` / `write_not_allowed` as for a path
 * argument, and `args.command.write_unresolved` for a target only known at run time.
 */
export function writeFindings(a: CommandAnalysis, rule: PathRule, arg: string): Reason[] {
  const out: Reason[] = [];
  const dirs = cwds(a);
  for (const { target, evidence, cwdUnknown } of allWrites(a)) {
    let r = resolveTarget(target, dirs, cwdUnknown);
    if ('unresolved' in r) {
      out.push(reason('write_unresolved', `${arg}: ${r.unresolved}`, evidence));
      continue;
    }
    const matches: string[] = [];
    for (const g of r.globs ?? []) {
      // The sandbox's /tmp is its own, empty: what the host's holds is not what the glob will match.
      if (rule.mount && /^\/tmp(\/|$)/.test(posix.normalize(g))) continue;
      const m = expandGlob(hostPath(g, rule));
      if (m) matches.push(...m);
      else
        out.push(
          reason('write_unresolved', `${arg}: ${target.by} target ${g} matches too many files to check`, evidence),
        );
    }
    if (r.links) {
      for (const p of r.paths) {
        const found = linksUnder(hostPath(p, rule));
        if (found) matches.push(...found);
        else
          out.push(
            reason(
              'write_unresolved',
              `${arg}: ${target.by} runs on links below ${p}, too many entries to check`,
              evidence,
            ),
          );
      }
      r = { ...r, paths: [] };
    }
    // A glob's base is a directory it lists (followed); its matches are what the command removes or writes.
    const base = r.globs ? r.paths.map((p) => [p, false] as const) : r.paths.map((p) => [p, r.nofollow] as const);
    for (const [p, nofollow] of [...base, ...matches.map((m) => [m, r.nofollow] as const)]) {
      if (writesStream(p)) continue;
      const res = checkPath(p, rule, `${arg}: ${target.by} target`, nofollow);
      for (const x of res.reasons) {
        const kind = x.code.startsWith('args.path.') ? x.code.slice(10) : 'escape';
        out.push(reason(kind === 'invalid' ? 'write_unresolved' : `write_${kind}`, x.message, evidence));
      }
    }
  }
  return out;
}

/** Built-in rule: a write to a device (`> /dev/sda`, `dd of=//dev/sda`, `tee /dev/nvme0n1`) destroys data. */
export function deviceWrites(a: CommandAnalysis): Reason[] {
  const out: Reason[] = [];
  const known = cwds(a);
  const dirs: Cwds = 'dirs' in known ? known : { dirs: ['.'] };
  for (const { target, evidence, cwdUnknown } of allWrites(a)) {
    const r = resolveTarget(target, dirs, cwdUnknown);
    if (!('paths' in r)) continue;
    const dev = r.paths.map((p) => posix.normalize(p)).find((p) => p.startsWith('/dev/') && !isStream(p));
    if (dev) out.push(reason('disk_write', `${target.by} writes to the device ${dev}`, evidence, 'builtin.disk_write'));
  }
  return out;
}
