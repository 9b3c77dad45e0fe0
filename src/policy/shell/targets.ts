import { posix } from 'node:path';
import type { SimpleCommand, Word } from './command.js';
import { DYN, has, lit, type Opt, type Scan, type Spec, STDOUT, scan, values } from './options.js';
import { sedWrites } from './sed.js';

/** Program models: the files and directories each known program writes through its arguments and options. */

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
