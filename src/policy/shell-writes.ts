import { posix } from 'node:path';
import type { Reason } from '../core/decision.js';
import { checkPath, hostPath, type PathRule } from './paths.js';
import type { CommandAnalysis, SimpleCommand, Word } from './shell.js';
import { expandGlob, linksUnder } from './shell-glob.js';
import { sedWrites } from './shell-sed.js';

/**
 * What a parsed shell command writes to: redirection targets (`>`, `>>`, `2>`, `&>`, `>|`, `<>`, `>& file`) and
 * the files and directories programs write through their arguments (`tee F`, `dd of=F`, `curl -o F`, `cp … DEST`,
 * `sed -i F`, `tar -C DIR`, `rm F`, `find DIR -delete`, …). Each is checked against the same path rules as a path
 * argument. A target the rules cannot know before the command runs (`$VAR`, `$(…)`, braces, a glob that may match
 * `..`, `~`, a relative path after a `cd` they cannot follow, an option only known at run time) is denied.
 */

export interface WriteTarget {
  word: Word;
  /** What writes it, for messages: `>`, `dd of=`, `curl -o`. */
  by: string;
  /** Directories a relative target is (also) relative to: `ln -s TEXT LINK` resolves TEXT from LINK's directory. */
  bases?: Word[];
  /** The command makes what it writes unknowable (`curl -K`, `find -L … -delete`): why. */
  unresolved?: string;
  /** It removes or renames the target itself (`rm`, `mv` sources): a link there is not followed. */
  nofollow?: boolean;
  /** Every link below the target is written through (`find DIR -exec chmod … {} +`): each is checked. */
  links?: boolean;
}

const EXEC = new Set(['-exec', '-execdir', '-ok', '-okdir']);
/** Wrappers a `find -exec` command may start with: what they run is looked through elsewhere, not here. */
const EXEC_WRAPPERS = new Set([
  'env',
  'nice',
  'nohup',
  'timeout',
  'stdbuf',
  'command',
  'sudo',
  'doas',
  'xargs',
  'time',
]);

/** The commands of `-exec`/`-execdir`/`-ok`/`-okdir … ;|+` in a find expression, `{}` as find's match. */
function execs(expr: readonly Word[]): Word[][] {
  const out: Word[][] = [];
  for (let k = 0; k < expr.length; k++) {
    if (!EXEC.has(expr[k]!.value ?? '')) continue;
    let j = k + 1;
    while (j < expr.length && expr[j]!.value !== ';' && expr[j]!.value !== '+') j++;
    out.push(expr.slice(k + 1, j).map((w) => (w.value === '{}' ? { ...DYN, findMatch: true } : w)));
    k = j;
  }
  return out;
}

const DYN: Word = { value: null, prefix: '', downloads: false };

function lit(value: string, from?: Word): Word {
  return { value, prefix: value, downloads: false, ...(from?.expands ? { expands: true } : {}) };
}

/** GNU getopt accepts every unambiguous prefix of a long option (`--target=` for `--target-directory=`). */
function longIs(name: string, full: string): boolean {
  return name === full || (name.length >= 3 && full.startsWith(name));
}

interface Opt {
  name: string;
  value?: Word;
}
interface Scan {
  opts: Opt[];
  operands: Word[];
  /** A word only known at run time stands where an option could (`$X`, `-o$X`, `--output=$X`). */
  dynamic: boolean;
}

interface Spec {
  /** Short options that take an argument (attached or the next word). */
  short?: string;
  /** Short options whose argument is optional and only attached (`sed -i[SUFFIX]`). */
  optional?: string;
  /** Long options that take an argument as the next word when not given with `=`. */
  long?: readonly string[];
}

/** Splits arguments into options (with their arguments) and operands, getopt style. */
function scan(args: readonly Word[], spec: Spec): Scan {
  const opts: Opt[] = [];
  const operands: Word[] = [];
  let dynamic = false;
  let options = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = a.value;
    if (!options) {
      operands.push(a);
      continue;
    }
    if (v === null) {
      if (!a.findMatch && (a.prefix === '' || a.prefix.startsWith('-'))) dynamic = true;
      operands.push(a);
      continue;
    }
    if (v === '--') {
      options = false;
      continue;
    }
    if (v.startsWith('--')) {
      const eq = v.indexOf('=');
      const name = eq < 0 ? v.slice(2) : v.slice(2, eq);
      if (eq >= 0) opts.push({ name: `--${name}`, value: lit(v.slice(eq + 1), a) });
      else if (spec.long?.some((l) => longIs(name, l))) {
        opts.push({ name: `--${name}`, value: args[i + 1] ?? DYN });
        i++;
      } else opts.push({ name: `--${name}` });
      continue;
    }
    if (v.startsWith('-') && v.length > 1) {
      for (let k = 1; k < v.length; k++) {
        const ch = v[k]!;
        if (spec.optional?.includes(ch)) {
          opts.push({ name: `-${ch}`, value: lit(v.slice(k + 1), a) });
          break;
        }
        if (spec.short?.includes(ch)) {
          const rest = v.slice(k + 1);
          if (rest !== '') opts.push({ name: `-${ch}`, value: lit(rest, a) });
          else {
            opts.push({ name: `-${ch}`, value: args[i + 1] ?? DYN });
            i++;
          }
          break;
        }
        opts.push({ name: `-${ch}` });
      }
      continue;
    }
    operands.push(a);
  }
  return { opts, operands, dynamic };
}

/** Whether option `o` is one of `names` (`-o`, `--output`; long names may be abbreviated). */
function is(o: Opt, names: readonly string[]): boolean {
  return names.some((n) =>
    n.startsWith('--') && o.name.startsWith('--') ? longIs(o.name.slice(2), n.slice(2)) : o.name === n,
  );
}
function has(s: Scan, ...names: string[]): boolean {
  return s.opts.some((o) => is(o, names));
}
function values(s: Scan, ...names: string[]): Word[] {
  return s.opts.flatMap((o) => (o.value && is(o, names) ? [o.value] : []));
}

const STDOUT = (w: Word) => w.value === '-';

const CURL_SHORT = 'AbcCdDeEFHKmoPQrTtuUwxXyYz';
const CURL_LONG = [
  'output',
  'dump-header',
  'cookie-jar',
  'output-dir',
  'trace',
  'trace-ascii',
  'stderr',
  'libcurl',
  'etag-save',
  'hsts',
  'alt-svc',
  'config',
  'header',
  'data',
  'user-agent',
  'url',
  'request',
  'user',
  'referer',
  'cookie',
  'form',
  'upload-file',
  'proxy',
  'max-time',
  'write-out',
];
const WGET_SHORT = 'OoaPiBetTwQUlARDIX';
const WGET_LONG = [
  'output-document',
  'output-file',
  'append-output',
  'directory-prefix',
  'execute',
  'config',
  'input-file',
  'header',
  'user-agent',
  'tries',
  'timeout',
  'user',
  'password',
];
const TAR_ARG = 'fCTXbgKNVLFIH';
const TAR_LONG = ['directory', 'file', 'files-from', 'exclude-from', 'exclude', 'transform', 'owner', 'group', 'mode'];
const MKFS = new Set(['mke2fs', 'mkswap', 'mkdosfs', 'mkntfs', 'wipefs', 'mkfs']);

const COMPRESSORS = new Set([
  'gzip',
  'gunzip',
  'pigz',
  'unpigz',
  'bzip2',
  'bunzip2',
  'pbzip2',
  'xz',
  'unxz',
  'lzma',
  'unlzma',
  'lzip',
  'zstd',
  'unzstd',
  'lz4',
  'compress',
  'uncompress',
]);

/** What a wrapper program writes through its own options: `time -o F`, `strace -o F`, `flock LOCK`, nohup.out. */
function wrapperWrites(
  name: string,
  args: readonly Word[],
  add: (w: Word, by: string) => void,
  unknown: (by: string, why: string) => void,
): void {
  switch (name) {
    case 'time':
      for (const w of values(scan(args, { short: 'fo', long: ['format', 'output'] }), '-o', '--output'))
        add(w, 'time -o');
      break;
    case 'strace':
    case 'ltrace': {
      const s = scan(args, { short: name === 'strace' ? 'abeEIoOpPsSuUX' : 'aeFlnopsuwxAD', long: ['output'] });
      for (const w of values(s, '-o', '--output')) {
        // `-o '|cmd'` / `-o '!cmd'` pipes the trace into a command.
        if (w.value !== null && /^[|!]/.test(w.value)) unknown(`${name} -o`, `${name} -o ${w.value} runs a command`);
        else add(w, `${name} -o`);
      }
      break;
    }
    case 'valgrind':
      for (const w of values(scan(args, {}), '--log-file', '--xml-file')) {
        // `%q{VAR}` in the name is an environment variable's value.
        if (w.value?.includes('%q')) unknown('valgrind', 'valgrind --log-file names a variable');
        else add(w, 'valgrind --log-file');
      }
      break;
    case 'flock': {
      const lock = scan(args, { short: 'wE', long: ['timeout', 'conflict-exit-code'] }).operands[0];
      if (lock) add(lock, 'flock');
      break;
    }
    case 'nohup':
      // nohup.out in the current directory when standard output is a terminal.
      add(lit('nohup.out'), 'nohup');
      break;
  }
}

/** The files and directories a command writes through its arguments (redirections are not arguments). */
export function commandWrites(c: SimpleCommand): WriteTarget[] {
  const name = c.name;
  if (name === null) return [];
  const out: WriteTarget[] = [];
  const add = (word: Word, by: string, bases?: Word[], nofollow = false) =>
    out.push({ word, by, ...(bases ? { bases } : {}), ...(nofollow ? { nofollow } : {}) });
  const unknown = (by: string, why: string) => out.push({ word: DYN, by, unresolved: why });
  const dynamic = (s: Scan) => {
    if (s.dynamic) unknown(name, `a word only known at run time may be an option of ${name} naming what it writes`);
  };
  for (const w of c.wrapperArgs ?? []) wrapperWrites(w.name, w.args, add, unknown);
  const args = c.args;
  switch (name) {
    case 'tee': {
      const s = scan(args, {});
      dynamic(s);
      for (const o of s.operands) if (!STDOUT(o)) add(o, 'tee');
      break;
    }
    case 'dd':
      for (const a of args) {
        if (a.value === null) {
          // `of=$X`, or a whole operand that may be `of=…`.
          if (a.prefix === '' || 'of='.startsWith(a.prefix) || a.prefix.startsWith('of=')) add(DYN, 'dd of=');
        } else if (a.value.startsWith('of=')) add(lit(a.value.slice(3), a), 'dd of=');
      }
      break;
    case 'curl': {
      const s = scan(args, { short: CURL_SHORT, long: CURL_LONG });
      dynamic(s);
      if (has(s, '-K', '--config')) unknown('curl -K', 'curl reads further options (output files) from a config file');
      const dir = values(s, '--output-dir');
      for (const d of dir) add(d, 'curl --output-dir');
      const base = dir.length > 0 ? dir : undefined;
      const globbing = !has(s, '-g', '--globoff');
      for (const w of values(s, '-o', '--output')) {
        if (STDOUT(w)) continue;
        // `-o '#1'` is replaced by what a URL glob (`{…}`, `[…]`) matched: a name taken from the URL.
        if (globbing && w.value !== null && /#[0-9]/.test(w.value))
          unknown('curl -o', `curl -o ${w.value} is named after the URL's glob`);
        else add(w, 'curl -o', base);
      }
      for (const w of values(s, '-D', '--dump-header', '-c', '--cookie-jar', '--trace', '--trace-ascii'))
        if (!STDOUT(w)) add(w, 'curl');
      for (const w of values(s, '--stderr', '--libcurl', '--etag-save', '--hsts', '--alt-svc'))
        if (!STDOUT(w)) add(w, 'curl');
      // -O/-J name the file after the URL or the server's header, in the current (or --output-dir) directory.
      if (has(s, '-O', '--remote-name', '--remote-name-all', '-J', '--remote-header-name'))
        add(lit('.'), 'curl -O', base);
      break;
    }
    case 'wget': {
      const s = scan(args, { short: WGET_SHORT, long: WGET_LONG });
      dynamic(s);
      if (has(s, '-e', '--execute', '--config'))
        unknown('wget -e', 'wget -e/--config sets options (output files) the rules cannot see');
      const docs = values(s, '-O', '--output-document');
      for (const w of docs) if (!STDOUT(w)) add(w, 'wget -O');
      for (const w of values(s, '-o', '--output-file', '-a', '--append-output')) if (!STDOUT(w)) add(w, 'wget -o');
      const prefix = values(s, '-P', '--directory-prefix');
      for (const w of prefix) add(w, 'wget -P');
      // Without -O, wget saves into the current directory (or -P).
      if (docs.length === 0 && prefix.length === 0) add(lit('.'), 'wget');
      break;
    }
    case 'cp':
    case 'mv':
    case 'install':
    case 'ln': {
      const spec: Spec =
        name === 'install'
          ? { short: 'mogSt', long: ['mode', 'owner', 'group', 'suffix', 'target-directory', 'strip-program'] }
          : { short: 'St', long: ['suffix', 'target-directory'] };
      const s = scan(args, spec);
      dynamic(s);
      const target = values(s, '-t', '--target-directory');
      const ops = s.operands;
      let dests: Word[];
      if (name === 'install' && has(s, '-d', '--directory')) dests = ops;
      else if (target.length > 0) dests = target;
      else dests = ops.length > 1 ? [ops[ops.length - 1]!] : name === 'ln' ? [lit('.')] : [];
      for (const d of dests) add(d, name);
      if (name === 'mv') {
        // mv removes its sources.
        for (const o of ops) if (!dests.includes(o)) add(o, 'mv', undefined, true);
      }
      // `ln` and `cp -s`/`cp -l` make links: a link's text (the source) is what writing through it reaches.
      const symbolic = name === 'ln' ? has(s, '-s', '--symbolic') : name === 'cp' && has(s, '-s', '--symbolic-link');
      if (name === 'ln' || symbolic || (name === 'cp' && has(s, '-l', '--link'))) {
        // A symbolic link's text is resolved from the link's directory.
        const by = `${name}${symbolic ? ' -s' : name === 'cp' ? ' -l' : ''}`;
        const linkDirs: Word[] = [];
        for (const d of dests) {
          linkDirs.push(d);
          if (d.value !== null && target.length === 0) linkDirs.push(lit(posix.dirname(d.value), d));
        }
        for (const o of ops) if (!dests.includes(o)) add(o, by, symbolic ? linkDirs : undefined);
      }
      break;
    }
    case 'rsync': {
      const s = scan(args, { short: 'BfT', long: ['backup-dir', 'temp-dir', 'partial-dir', 'log-file', 'filter'] });
      dynamic(s);
      const dest = s.operands[s.operands.length - 1];
      // `host:path` and `rsync://` destinations are remote.
      if (s.operands.length > 1 && dest && !(dest.value !== null && /^[^/]*:/.test(dest.value))) add(dest, 'rsync');
      for (const w of values(s, '--backup-dir', '-T', '--temp-dir', '--partial-dir', '--log-file'))
        add(w, 'rsync', dest ? [lit('.'), dest] : undefined);
      break;
    }
    case 'sort': {
      const s = scan(args, {
        short: 'ktSoT',
        long: ['key', 'field-separator', 'buffer-size', 'output', 'temporary-directory'],
      });
      dynamic(s);
      for (const w of values(s, '-o', '--output')) add(w, 'sort -o');
      break;
    }
    case 'unzip': {
      const s = scan(args, { short: 'dxP', long: [] });
      dynamic(s);
      const dirs = values(s, '-d');
      for (const d of dirs) add(d, 'unzip -d');
      if (dirs.length === 0 && !has(s, '-l', '-t', '-p', '-v', '-Z')) add(lit('.'), 'unzip');
      break;
    }
    case 'touch':
    case 'mkdir':
    case 'truncate':
    case 'rm':
    case 'rmdir':
    case 'unlink':
    case 'shred': {
      const spec: Spec =
        name === 'truncate'
          ? { short: 'sr', long: ['size', 'reference'] }
          : name === 'touch'
            ? { short: 'rdt', long: ['reference', 'date', 'time'] }
            : name === 'mkdir'
              ? { short: 'm', long: ['mode', 'context'] }
              : name === 'shred'
                ? { short: 'ns', long: ['iterations', 'size', 'random-source'] }
                : {};
      const s = scan(args, spec);
      dynamic(s);
      const removes = name === 'rm' || name === 'rmdir' || name === 'unlink';
      for (const o of s.operands) add(o, name, undefined, removes);
      break;
    }
    case 'sed': {
      const s = scan(args, { short: 'efl', optional: 'i', long: ['expression', 'file', 'line-length'] });
      // `sed $OPTS …` may be `sed -i …`.
      dynamic(s);
      const scripted = has(s, '-e', '--expression', '-f', '--file');
      const files = scripted ? s.operands : s.operands.slice(1);
      // The script's `w FILE` commands write; --sandbox makes sed refuse them.
      if (!has(s, '--sandbox')) {
        if (has(s, '-f', '--file')) unknown('sed -f', 'sed -f reads a script whose w commands the rules cannot see');
        for (const w of scripted ? values(s, '-e', '--expression') : s.operands.slice(0, 1)) {
          if (w.value === null) {
            unknown('sed', 'a sed script only known at run time may write files (w)');
            continue;
          }
          const r = sedWrites(w.value);
          if ('unknown' in r) unknown('sed', `the sed script has ${r.unknown}, so what it writes (w) is unknown`);
          else for (const f of r.files) add(lit(f), 'sed w');
        }
      }
      const inPlace = values(s, '-i', '--in-place');
      if (inPlace.length === 0 && !has(s, '--in-place')) break;
      const suffix = inPlace.find((w) => w.value !== '');
      for (const f of files) {
        add(f, 'sed -i');
        if (!suffix) continue;
        // The backup: SUFFIX appended, or with `*` replaced by the file's name (and then maybe in another directory).
        if (suffix.value === null || f.value === null) add(DYN, 'sed -i backup');
        else if (suffix.value.includes('*')) {
          const b = suffix.value.split('*').join(posix.basename(f.value));
          add(lit(b, suffix), 'sed -i backup', [lit('.'), lit(posix.dirname(f.value), f)]);
        } else add(lit(f.value + suffix.value, f), 'sed -i backup');
      }
      break;
    }
    case 'tar':
    case 'bsdtar': {
      let rest = args;
      const pre: Opt[] = [];
      // Old-style bundled letters: `tar czf out.tar -C dir src`, each argument-taking letter takes the next word.
      const first = args[0]?.value;
      if (first && !first.startsWith('-') && /^[A-Za-z]+$/.test(first)) {
        let j = 1;
        for (const ch of first) {
          if (TAR_ARG.includes(ch)) pre.push({ name: `-${ch}`, value: args[j++] ?? DYN });
          else pre.push({ name: `-${ch}` });
        }
        rest = args.slice(j);
      }
      const sc = scan(rest, { short: TAR_ARG, long: TAR_LONG });
      const s: Scan = { ...sc, opts: [...pre, ...sc.opts] };
      dynamic(s);
      if (has(s, '-P', '--absolute-names'))
        unknown('tar -P', 'tar -P writes archive members to the absolute paths they name');
      const dirs = values(s, '-C', '--directory');
      for (const d of dirs) add(d, 'tar -C');
      if (has(s, '-x', '--extract', '--get') && dirs.length === 0) add(lit('.'), 'tar -x');
      if (has(s, '-c', '--create', '-r', '--append', '-u', '--update', '-A', '--catenate', '--concatenate', '--delete'))
        for (const f of values(s, '-f', '--file')) if (!STDOUT(f)) add(f, 'tar -f');
      if (has(s, '--remove-files')) {
        // The members it archives are deleted, relative to the current directory or a -C directory.
        if (has(s, '-T', '--files-from'))
          unknown('tar --remove-files', 'tar -T names the files it deletes at run time');
        for (const o of s.operands) add(o, 'tar --remove-files', [lit('.'), ...dirs], true);
      }
      break;
    }
    case 'chmod':
    case 'chown':
    case 'chgrp': {
      // chmod's symbolic modes (-w, -x) look like options: keep them as operands.
      const modeLike = (w: Word) => name === 'chmod' && w.value !== null && /^-[rwxXst]+$/.test(w.value);
      const s = scan(
        args.map((w) => (modeLike(w) ? lit(`./${w.value}`, w) : w)),
        { long: ['from'] },
      );
      dynamic(s);
      const ops = has(s, '--reference') ? s.operands : s.operands.slice(1);
      const recursive = has(s, '-R', '--recursive');
      if (recursive && has(s, '-L'))
        unknown(`${name} -RL`, `${name} -R -L follows links out of the directories it is given`);
      for (const o of ops) add(o, recursive ? `${name} -R` : name);
      break;
    }
    case 'find': {
      // find [-H|-L|-P|-D opts|-Olevel]… START… EXPRESSION
      let i = 0;
      let follow = false;
      while (i < args.length) {
        const v = args[i]!.value;
        if (v === '-H' || v === '-P') i++;
        else if (v === '-L') {
          follow = true;
          i++;
        } else if (v === '-D') i += 2;
        else if (v?.startsWith('-O')) i++;
        else break;
      }
      const starts: Word[] = [];
      while (i < args.length) {
        const v = args[i]!.value;
        if (v !== null && (v.startsWith('-') || v === '(' || v === '!' || v === ',')) break;
        starts.push(args[i]!);
        i++;
      }
      const expr = args.slice(i).map((w) => w.value);
      if (expr.includes('-follow')) follow = true;
      const writes = expr.some(
        (v) => v === '-delete' || v === '-exec' || v === '-execdir' || v === '-ok' || v === '-okdir',
      );
      if (writes) {
        if (follow) unknown('find -L', 'find -L follows links out of the directories it deletes or runs commands in');
        // A command run on a match that is a link (`chmod {}`, `sed -i … {}`) writes what the link points to; one
        // that only reads `{}` or removes it (`cp {} dir`, `rm {}`) does not, and `-type f`/`-type d` match no link.
        const linkSafe = execs(args.slice(i)).every((inner) => {
          const p = inner[0]?.value;
          if (p === null || p === undefined || EXEC_WRAPPERS.has(posix.basename(p))) return false;
          const c2: SimpleCommand = {
            program: p,
            name: posix.basename(p),
            args: inner.slice(1),
            pipeline: -1,
            stage: -1,
            wrappers: [],
          };
          return !commandWrites(c2).some((t) => t.word.findMatch && !t.nofollow);
        });
        const typed = expr.some((v, k) => v === '-type' && /^[fd](,[fd])*$/.test(expr[k + 1] ?? ''));
        // find does not follow a start that is a link (without -H/-L), and deletes the link itself.
        const nofollow = linkSafe && !args.slice(0, i).some((w) => w.value === '-H');
        for (const st of starts.length > 0 ? starts : [lit('.')]) {
          add(st, 'find', undefined, nofollow);
          if (!linkSafe && !typed) out.push({ word: st, by: 'find -exec', links: true });
        }
      }
      for (let k = i; k < args.length; k++) {
        const v = args[k]!.value;
        if (v === '-fprint' || v === '-fprint0' || v === '-fprintf' || v === '-fls')
          add(args[k + 1] ?? DYN, `find ${v}`);
      }
      break;
    }
    case 'link': {
      // link FILE1 FILE2: FILE2 is a hard link to FILE1, so writing FILE2 writes FILE1.
      const s = scan(args, {});
      dynamic(s);
      for (const o of s.operands) add(o, 'link');
      break;
    }
    case 'mkfifo':
    case 'mknod': {
      const s = scan(args, { short: 'mZ', long: ['mode', 'context'] });
      dynamic(s);
      for (const o of name === 'mknod' ? s.operands.slice(0, 1) : s.operands) add(o, name);
      break;
    }
    case 'mktemp': {
      // `--tmpdir` takes its directory only after `=`; without -p/--tmpdir a template with a `/` is relative.
      const s = scan(args, { short: 'p', long: ['suffix'] });
      dynamic(s);
      const dirs = values(s, '-p', '--tmpdir');
      for (const d of dirs) add(d, 'mktemp -p');
      if (dirs.length === 0 && !has(s, '-t', '--tmpdir', '-u', '--dry-run'))
        for (const o of s.operands) add(o, 'mktemp');
      break;
    }
    case 'script': {
      const s = scan(args, {
        short: 'cEmoBIOT',
        optional: 't',
        long: ['command', 'echo', 'logging-format', 'output-limit', 'log-io', 'log-in', 'log-out', 'log-timing'],
      });
      dynamic(s);
      for (const w of values(s, '-B', '--log-io', '-I', '--log-in', '-O', '--log-out', '-T', '--log-timing'))
        add(w, 'script');
      for (const w of values(s, '-t', '--timing')) if (w.value !== '') add(w, 'script -t');
      add(s.operands[0] ?? lit('typescript'), 'script');
      break;
    }
    case 'scp': {
      const s = scan(args, { short: 'cFiJloPSDX', long: [] });
      dynamic(s);
      const dest = s.operands[s.operands.length - 1];
      // `host:path` and `scp://` destinations are remote; a local one is written.
      if (s.operands.length > 1 && dest && !(dest.value !== null && /^[^/]*:/.test(dest.value))) add(dest, 'scp');
      break;
    }
    default:
      if (COMPRESSORS.has(name)) {
        // Each file is replaced by its (de)compressed neighbour, unless written to standard output or only read.
        const s = scan(args, { short: 'SFCTMoD', long: ['suffix', 'format', 'check', 'threads', 'memlimit'] });
        dynamic(s);
        for (const w of values(s, '-o')) if (!STDOUT(w)) add(w, `${name} -o`);
        if (!has(s, '-c', '--stdout', '--to-stdout', '-l', '--list', '-t', '--test'))
          for (const o of s.operands) if (!STDOUT(o)) add(o, name);
        break;
      }
      if (name.startsWith('mkfs.') || MKFS.has(name)) {
        for (const a of args) if (a.value === null || !a.value.startsWith('-')) add(a, name);
      }
  }
  return out;
}

/** Files that are a stream, never a place: writing to them is writing to an open descriptor. */
function isStream(p: string): boolean {
  return (
    p === '/dev/null' ||
    p === '/dev/stdout' ||
    p === '/dev/stderr' ||
    p === '/dev/tty' ||
    /^\/dev\/fd\/[0-9]+$/.test(p) ||
    /^\/proc\/self\/fd\/[0-9]+$/.test(p)
  );
}

const MAX_CWDS = 8;

/** `p` from directory `from` (absolute `p` as it is), with `..` kept: the kernel resolves it after symlinks. */
function at(from: string, p: string): string {
  return p.startsWith('/') || from === '.' ? p : `${from}/${p}`;
}

/** `.` segments and repeated slashes dropped, `..` kept (`a/./b//../c` is `a/b/../c`). */
function tidy(p: string): string {
  const segs = p.split('/').filter((s, i) => s !== '.' && (s !== '' || i === 0));
  return segs.length === 0 ? '.' : segs.length === 1 && segs[0] === '' ? '/' : segs.join('/');
}

/** A `cd` operand POSIX looks up in `CDPATH` (inherited, so unknown here): not `/…`, `.`, `..`, `./…`, `../…`. */
function searchesCdpath(dir: string): boolean {
  return !/^(\/|\.\.?(\/|$))/.test(dir);
}

type Cwds = { dirs: string[] } | { unknown: string };

/**
 * Directories relative paths may be relative to (`.` is the workspace): every `cd` is assumed to take effect
 * wherever it is (in a subshell or not), so a relative target must be allowed from each. `cd` resolves `..`
 * lexically (`-L`) but physically with `-P` and when the lexical directory does not exist (bash retries the
 * operand as written), so an operand with `..` yields both. Unknown when a `cd` goes somewhere only known at run
 * time (`cd`, `cd -`, `cd ~`, `cd $X`, `pushd`, `popd`, a name looked up in `CDPATH`).
 */
function cwds(a: CommandAnalysis): Cwds {
  let set = ['.'];
  for (const c of a.commands) {
    if (c.name === 'pushd' || c.name === 'popd') return { unknown: `${c.name} changes to a directory stack entry` };
    if (c.name !== 'cd') continue;
    const s = scan(c.args, {});
    const dir = s.operands[0];
    if (s.dynamic || !dir || dir.value === null || dir.expands || dir.value === '-' || dir.value.startsWith('~'))
      return { unknown: `${show(c)} changes to a directory only known at run time` };
    if (searchesCdpath(dir.value))
      return { unknown: `${show(c)} may change to a directory in an inherited CDPATH (write cd ./${dir.value})` };
    const next = new Set(set);
    for (const cwd of set) {
      const raw = tidy(at(cwd, dir.value));
      next.add(posix.normalize(raw));
      next.add(raw);
    }
    set = [...next];
    if (set.length > MAX_CWDS) return { unknown: `more than ${MAX_CWDS} directories the command may run in` };
  }
  return { dirs: set };
}

/** `globs`: the glob patterns among the targets (cwd-joined), whose base directories are in `paths`. */
type Resolved = { paths: string[]; globs?: string[]; nofollow: boolean; links?: boolean } | { unresolved: string };

/** Whether a path's last component is a name (`a`, `d/a`), not `.`, `..` or a trailing `/` that follows a link. */
const NAMED = (v: string) => !/(^|\/)\.{0,2}$/.test(v);

/** The paths a target may name (`..` kept), or why it cannot be known. */
function resolveTarget(t: WriteTarget, dirs: Cwds, cwdUnknown: boolean): Resolved {
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

function reason(code: string, message: string, evidence: string, ruleId?: string): Reason {
  return { code: `args.command.${code}`, message, evidence: evidence.slice(0, 200), ...(ruleId ? { ruleId } : {}) };
}

function show(c: SimpleCommand): string {
  return [c.program ?? '$?', ...c.args.map((a) => a.value ?? `${a.prefix}$?`)].join(' ');
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

/**
 * What a mode grants, when dangerous: setuid, setgid or sticky bits, or write access for others. Numeric modes of
 * any length (`00777`, `04755`), `=4755`, and symbolic clauses with several operations (`o+r+w`) or copied
 * permissions (`o=u`). A mode chmod would reject is reported too (it cannot be told harmless).
 */
export function modeRisk(mode: string, umask = false): string | undefined {
  const octal = (n: number) =>
    !umask && (n & 0o7000) !== 0
      ? 'sets the setuid, setgid or sticky bit'
      : (umask ? (n & 0o002) === 0 : (n & 0o002) !== 0)
        ? 'lets others write'
        : undefined;
  if (/^[0-7]+$/.test(mode)) return octal(Number.parseInt(mode, 8));
  for (const clause of mode.split(',')) {
    let i = 0;
    let who = '';
    while (i < clause.length && 'ugoa'.includes(clause[i]!)) who += clause[i++];
    if (i === clause.length) return `has the mode ${mode}, which does not parse`;
    const others = who === '' ? umask : /[oa]/.test(who);
    while (i < clause.length) {
      const op = clause[i++]!;
      if (!'-+='.includes(op)) return `has the mode ${mode}, which does not parse`;
      let perms = '';
      while (i < clause.length && 'rwxXstugo01234567'.includes(clause[i]!)) perms += clause[i++];
      if (op === '-') continue;
      if (/^[0-7]+$/.test(perms)) {
        const r = who === '' && !umask ? octal(Number.parseInt(perms, 8)) : `has the mode ${mode}`;
        if (r) return r;
      } else if (!umask && /[st]/.test(perms)) return 'sets the setuid, setgid or sticky bit';
      // `o=u` copies the owner's permissions, write included.
      else if (others && (perms.includes('w') || /[ug]/.test(perms))) return 'lets others write';
    }
  }
  return undefined;
}

/** Built-in rule: modes that let others write or set setuid/setgid/sticky bits (chmod, install/mkdir -m, umask). */
export function modeFindings(a: CommandAnalysis): Reason[] {
  const out: Reason[] = [];
  for (const c of a.commands) {
    const name = c.name;
    let modes: Word[] = [];
    if (name === 'chmod') {
      if (c.args.some((w) => w.value?.startsWith('--reference'))) {
        out.push(
          reason('chmod_world', 'chmod --reference copies a mode the rules cannot see', show(c), 'builtin.chmod_world'),
        );
        continue;
      }
      // The mode is the first word that is not an option (`-R`, `--verbose`); `-w` is a mode, not an option.
      const at = c.args.findIndex((w) => w.value === null || !/^(--.+|-[cfvRHLP]+)$/.test(w.value));
      const mode = c.args[at]?.value === '--' ? c.args[at + 1] : c.args[at];
      modes = mode ? [mode] : [];
    } else if (name === 'install' || name === 'mkdir' || name === 'mkfifo' || name === 'mknod') {
      modes = values(scan(c.args, { short: name === 'install' ? 'mogSt' : 'mZ', long: ['mode'] }), '-m', '--mode');
    } else if (name === 'umask') {
      modes = scan(c.args, {}).operands.slice(0, 1);
    }
    for (const m of modes) {
      const why = m.value === null ? 'has a mode only known at run time' : modeRisk(m.value, name === 'umask');
      if (why) out.push(reason('chmod_world', `${name} ${why}`, show(c), 'builtin.chmod_world'));
    }
  }
  return out;
}

/** Directories whose recursive removal destroys the system or a home (`~` is any user's home, `~root` too). */
export const SYSTEM_DIRS = new Set([
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/opt',
  '/proc',
  '/root',
  '/sbin',
  '/srv',
  '/sys',
  '/usr',
  '/var',
  '~',
]);

/**
 * Why removing everything below `p` (normalised; relative to the command's starting directory) destroys what
 * it must not, or undefined: a system directory or a home, anything in /proc, /sys or /dev (`/proc/self/root` is
 * `/`), or a directory above the starting one (`..`, which in the sandbox's /workspace is `/`).
 */
function destroys(p: string): string | undefined {
  if (SYSTEM_DIRS.has(p)) return `${p} is a system directory or a home`;
  if (/^\/(proc|sys|dev)\//.test(p)) return `${p} is in /proc, /sys or /dev (/proc/self/root is /)`;
  if (p === '..' || p.startsWith('../')) return `${p} is above the directory the command starts in`;
  return undefined;
}

/** A home directory spelling (`~`, `~root`, `~root/x`) as `~…`; `~+` is the current directory. Null: `~-`. */
function home(v: string): string | null {
  const slash = v.indexOf('/');
  const head = slash < 0 ? v : v.slice(0, slash);
  const rest = slash < 0 ? '' : v.slice(slash);
  if (head === '~+') return `.${rest}`;
  if (head === '~-') return null;
  return `~${rest}`;
}

/** What a recursive removal of word `w` reaches, from each possible directory; a reason when it is destroying. */
function removalRisk(w: Word, dirs: Cwds, cwdUnknown: boolean): string | undefined {
  if (w.value === null) return 'the target is only known at run time (it may be /, ~ or ..)';
  let v = w.value;
  if (w.expands) {
    if (v.includes('{')) return `${v} has brace expansion`;
    // A glob removes what its directory holds: `/etc/*` is as bad as `/etc`.
    const segs = v.split('/');
    const g = segs.findIndex((x) => /[*?[]/.test(x));
    if (g >= 0) v = segs.slice(0, g).join('/') || (v.startsWith('/') ? '/' : '.');
  }
  if (v.startsWith('~')) {
    const h = home(v);
    if (h === null) return `${v} is the previous directory, only known at run time`;
    v = h;
    if (v.startsWith('~')) return destroys(v.length > 1 ? posix.normalize(v).replace(/\/+$/, '') : v);
  }
  if (v.startsWith('/')) return destroys(posix.normalize(v).replace(/(.)\/+$/, '$1'));
  if ('unknown' in dirs) return `${v} is relative, and ${dirs.unknown}`;
  if (cwdUnknown) return `${v} is relative to a directory only known at run time`;
  for (const d of dirs.dirs) {
    const why = destroys(posix.normalize(at(d, v)).replace(/(.)\/+$/, '$1'));
    if (why) return why;
  }
  return undefined;
}

/** rm's long options, which getopt accepts abbreviated to any unambiguous prefix (`--rec`, `--no-p`). */
const RM_LONG = ['recursive', 'no-preserve-root', 'preserve-root', 'force', 'interactive', 'one-file-system', 'dir'];

function rmLong(o: Opt): string | undefined {
  if (!o.name.startsWith('--')) return undefined;
  const n = o.name.slice(2);
  const hits = RM_LONG.filter((l) => l.startsWith(n));
  return hits.includes(n) ? n : hits.length === 1 ? hits[0] : undefined;
}

/**
 * Built-in rule, with or without path rules: a recursive removal (`rm -r`, `find -delete`) of /, a system
 * directory, a home, /proc paths or a directory above the starting one, in every spelling (`../../..`, `~root`,
 * `/proc/self/root/*`, `//`, `/.`, `/etc/*`, `cd / && rm -rf ./*`, `--rec`, `find -L / -delete`), or of a target
 * only known at run time. A link made in the same command to such a directory (`ln -s / r && rm -rf r/*`)
 * counts as one.
 */
export function rmRootFindings(a: CommandAnalysis): Reason[] {
  const out: Reason[] = [];
  const dirs = cwds(a);
  const deny = (c: SimpleCommand, why: string) =>
    out.push(reason('rm_root', `${c.name} removes recursively: ${why}`, show(c), 'builtin.rm_root'));
  let removes = false;
  for (const c of a.commands) {
    if (c.name === 'rm') {
      const s = scan(c.args, {});
      const long = s.opts.map(rmLong);
      if (long.includes('no-preserve-root')) deny(c, '--no-preserve-root');
      if (!s.dynamic && !has(s, '-r', '-R') && !long.includes('recursive')) continue;
      removes = true;
      for (const o of s.operands) {
        const why = removalRisk(o, dirs, c.cwdUnknown === true);
        if (why) deny(c, why);
      }
    } else if (c.name === 'find' && c.args.some((w) => w.value === '-delete')) {
      removes = true;
      for (const t of commandWrites(c)) {
        // `find -L` follows links out of the directories it deletes in.
        const why = t.unresolved ?? (t.by === 'find' ? removalRisk(t.word, dirs, c.cwdUnknown === true) : undefined);
        if (why) deny(c, why);
      }
    }
  }
  if (!removes) return out;
  for (const c of a.commands) {
    if (c.name !== 'ln' && c.name !== 'cp') continue;
    for (const t of commandWrites(c)) {
      if (t.by !== 'ln -s' && t.by !== 'cp -s') continue;
      const why = removalRisk(t.word, dirs, c.cwdUnknown === true);
      if (why) deny(c, `it links to ${why}`);
    }
  }
  return out;
}
