import { mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePathRule } from '../../src/policy/paths.js';
import { sedWrites } from '../../src/policy/shell/sed.js';
import { checkCommand } from '../../src/policy/shell.js';

// Escapes from the write confinement and the built-in mode rule, each with the allowed neighbour that must stay
// allowed: a rule that denied both would pass the escape test and fail the neighbour.
const ws = realpathSync(mkdtempSync(join(tmpdir(), 'gh-shell-escapes-')));
mkdirSync(join(ws, 'sub'));
const paths = compilePathRule(ws, undefined);
const writes = (cmd: string) => checkCommand(cmd, { builtin: false, arg: 'command', paths }).reasons.map((r) => r.code);
const builtin = (cmd: string) => checkCommand(cmd, { builtin: true, arg: 'command' }).reasons.map((r) => r.code);

const ESCAPE = 'args.command.write_escape';
const UNRESOLVED = 'args.command.write_unresolved';

// [what, escape, its code, allowed neighbour]
const escapes: [string, string, string, string][] = [
  ['cd through an inherited CDPATH', 'cd etc && echo x > passwd', UNRESOLVED, 'cd ./sub && echo x > a'],
  [
    'cd through CDPATH, then a sed -i',
    'cd ssh; sed -i s/a/b/ authorized_keys',
    UNRESOLVED,
    `cd sub; sed -i s/a/b/ ${ws}/sub/x`,
  ],
  ['cp -s links to what it copies', 'cp -s /etc/passwd p', ESCAPE, 'cp /etc/passwd p'],
  ['cp --symbolic-link', 'cp --symbolic-link /etc/shadow sub/', ESCAPE, 'cp -s ./sub/a b'],
  ['cp -s relative to the link', 'cp -s ../../x sub/l', ESCAPE, 'cp -s ../a sub/l'],
  ['cp -l makes a hard link', 'cp -l /etc/shadow s', ESCAPE, 'cp -l sub/a b'],
  ['cp --link', 'cp -a --link /etc/ssh keys', ESCAPE, 'cp -a --link sub keys'],
  ['link', 'link /etc/shadow s', ESCAPE, 'link sub/a b'],
  ['tar --remove-files', 'tar -cf out.tar --remove-files /etc/hosts', ESCAPE, 'tar -cf out.tar --remove-files sub'],
  [
    'tar --remove-files under -C',
    'tar -cf out.tar -C sub --remove-files ../../x',
    ESCAPE,
    'tar -cf o.tar -C sub --remove-files a',
  ],
  ['tar --remove-files -T', 'tar -cf o.tar --remove-files -T list', UNRESOLVED, 'tar -cf o.tar -T list'],
  ['sed w', "sed -n 'w /etc/x' a", ESCAPE, "sed -n 'w out.txt' a"],
  ['sed W', "sed 'W /etc/x' a", ESCAPE, "sed 'W /dev/stdout' a"],
  ['sed s///w', "sed 's/a/b/w /etc/x' a", ESCAPE, "sed 's/a/b/gw changes.txt' a"],
  ['sed w after other commands', "sed -e 'p;1w /root/x' a", ESCAPE, "sed -e 'p;1d' a"],
  ['sed w in a block', "sed -n '/re/{\nw /etc/x\n}' a", ESCAPE, "sed -n '/re/{\np\n}' a"],
  ['sed w with a ; in the name', "sed 's/a/b/w /etc/x;p' a", ESCAPE, "sed 's/a/b/;p' a"],
  ['sed w behind an address with a bracket', "sed '/[/]/w /etc/x' a", ESCAPE, "sed '/[/]/d' a"],
  ['sed w in -e', "sed -e s/a/b/ -e 'w /etc/x' a", ESCAPE, 'sed -e s/a/b/ -e p a'],
  ['sed -f script', 'sed -f script.sed a', UNRESOLVED, 'sed --sandbox -f script.sed a'],
  ['sed script only known at run time', 'sed "$S" a', UNRESOLVED, "sed 's/x/$y/' a"],
  ['time -o', '/usr/bin/time -o /etc/x ls', ESCAPE, '/usr/bin/time -o time.txt ls'],
  ['time --output', '/usr/bin/time --output /etc/x ls', ESCAPE, '/usr/bin/time --output=t.txt ls'],
  ['strace -o', 'strace -f -o /etc/x ls', ESCAPE, 'strace -f -o trace.txt ls'],
  ['strace -o |cmd', "strace -o '|sh' ls", UNRESOLVED, "strace -o 'a|b' ls"],
  ['ltrace -o', 'ltrace -o /etc/x ls', ESCAPE, 'ltrace -o t ls'],
  ['valgrind --log-file', 'valgrind --log-file=/etc/x ./a.out', ESCAPE, 'valgrind --log-file=v.%p ./a.out'],
  ['flock creates its lock file', 'flock /etc/lock ls', ESCAPE, 'flock .lock ls'],
  ['nohup writes nohup.out in the current directory', 'cd /etc && nohup ls', ESCAPE, 'nohup ls'],
  ['script writes its typescript', 'script -q /etc/x', ESCAPE, 'script -q session.log'],
  ['script in another directory', 'cd /etc && script -q', ESCAPE, 'script -q'],
  ['script --log-timing', 'script -T /etc/t -q s.log', ESCAPE, 'script -T t.txt -q s.log'],
  ['mkfifo', 'mkfifo /etc/f', ESCAPE, 'mkfifo sub/f'],
  ['mknod', 'mknod /etc/n p', ESCAPE, 'mknod sub/n p'],
  ['mktemp with a template', 'mktemp /etc/x.XXXX', ESCAPE, 'mktemp sub/x.XXXX'],
  ['mktemp -p', 'mktemp -p /etc', ESCAPE, 'mktemp -t x.XXXX'],
  ['gzip replaces the file', 'gzip /etc/passwd', ESCAPE, 'gzip -c /etc/passwd > p.gz'],
  ['xz -d', 'xz -d /var/backups/a.xz', ESCAPE, 'xz -dk sub/a.xz'],
  ['zstd -o', 'zstd a -o /etc/a.zst', ESCAPE, 'zstd a -o a.zst'],
  ['scp to a local path', 'scp host:.bashrc /etc/bash.bashrc', ESCAPE, 'scp a host:/etc/x'],
];

describe('shell: write escapes are closed, their neighbours stay allowed', () => {
  describe.each(escapes)('%s', (_what, attack, code, neighbour) => {
    it(`denies ${JSON.stringify(attack)} (${code})`, () => {
      expect(writes(attack)).toContain(code);
    });
    it(`allows ${JSON.stringify(neighbour)}`, () => {
      expect(writes(neighbour)).toEqual([]);
    });
  });

  it('a .. after a cd into a directory resolves both lexically and as written (bash retries the operand)', () => {
    expect(writes('cd ./sub/../sub && echo x > a')).toEqual([]);
    expect(writes('cd ./sub/.. && echo x > ../a')).toContain(ESCAPE);
  });
});

describe('shell: modes that let others write or set special bits (chmod_world), without path rules', () => {
  const CHMOD = 'args.command.chmod_world';
  it.each([
    'chmod 04755 a.out',
    'chmod 00777 dir',
    'chmod 0004755 a.out',
    'chmod =4755 a.out',
    'chmod +4000 a.out',
    'chmod 1777 shared',
    'chmod u+s a.out',
    'chmod +t dir',
    'chmod o+r+w f',
    'chmod o=u f',
    'chmod a=rwx f',
    'chmod -R 777 build',
    'chmod -- 4755 f',
    'chmod "$MODE" f',
    'chmod --reference=/usr/bin/passwd f',
    'install -m 4755 a.out bin/a',
    'install -m4777 a.out bin/a',
    'install --mode=04755 a.out bin/a',
    'install -m u+s a.out bin/a',
    'mkdir -m 777 shared',
    'mkfifo -m 666 sub/f',
    'umask 000',
    'umask 0',
    'umask o=rwx',
    "sh -c 'chmod 04755 x'",
  ])('denies %j', (cmd) => {
    expect(builtin(cmd)).toContain(CHMOD);
  });
  it.each([
    'chmod 755 a.out',
    'chmod 0755 a.out',
    'chmod 000755 a.out',
    'chmod 644 a.txt',
    'chmod -w a.txt',
    'chmod -R u+rwX,go-w build',
    'chmod +x run.sh',
    'chmod u=rwx,g=rx,o= f',
    'chmod o-w f',
    'chmod -v 600 key',
    'install -m 755 a.out bin/a',
    'install -m 0644 a.conf etc/a.conf',
    'mkdir -m 700 private',
    'mkdir -p a/b',
    'umask 022',
    'umask 0077',
    'umask',
  ])('allows %j', (cmd) => {
    expect(builtin(cmd)).toEqual([]);
  });
});

describe('sed scripts: what they write, in one linear pass', () => {
  it.each([
    ["sed -n '/foo/,/bar/p'", '/foo/,/bar/p'],
    ['1d', '1d'],
    ['-E', 's/(a|b)+/x/g'],
    ['other delimiter', 's#a/w#b#'],
    ['N;P;D', '$!N;P;D'],
    ['range', '2,5p'],
    ['empty lines', '/^$/d'],
    ['y', 'y/abc/xyz/'],
    ['labels', ':a;$!N;s/\\n//;ta'],
    ['insert text', '1i\\header w /etc/x'],
    ['append one-liner', '$a w /etc/x'],
    ['nth occurrence', 's/x/y/2g'],
    ['step', '0~3d'],
    ['case-insensitive address', '/x/I d'],
    ['comment', '# w /etc/x\np'],
    ['brackets', 's/[/]w/x/'],
    ['character class', 's/[[:space:]/]*w/ /'],
    ['read file', 'r /etc/hosts'],
  ])('%s writes nothing', (_what, script) => {
    expect(sedWrites(script)).toEqual({ files: [] });
  });
  it('names every file written', () => {
    expect(sedWrites('w a\ns/x/y/w b;c\n/x/W d')).toEqual({ files: ['a', 'b;c', 'd'] });
  });
  it.each(['s/a/b', '/unterminated', 'k', 'p x', 's'])('cannot follow %j: unknown', (script) => {
    expect(sedWrites(script)).toHaveProperty('unknown');
  });
  it('is linear in the script length', () => {
    for (const s of ['s/[[[[', '\\/', 'p;', '[', '/[[:', 'a\\']) {
      const big = s.repeat(50_000);
      const t = performance.now();
      sedWrites(`s/${big}/x/`);
      sedWrites(big);
      expect(performance.now() - t).toBeLessThan(500);
    }
  });
});
