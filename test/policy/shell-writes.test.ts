import { mkdirSync, mkdtempSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePathRule } from '../../src/policy/paths.js';
import { checkCommand } from '../../src/policy/shell.js';

// Every path a parsed command WRITES to passes the same path rules as a path argument; a target only known at run
// time is denied (args.command.write_unresolved), never allowed.
const ws = realpathSync(mkdtempSync(join(tmpdir(), 'gh-shell-writes-')));
mkdirSync(join(ws, 'sub', 'deep'), { recursive: true });
symlinkSync('/etc', join(ws, 'etc-link'));
const paths = compilePathRule(ws, undefined);

const check = (cmd: string) => checkCommand(cmd, { builtin: false, arg: 'command', paths });
const codes = (cmd: string) => check(cmd).reasons.map((r) => r.code);

const ESCAPE = 'args.command.write_escape';
const UNRESOLVED = 'args.command.write_unresolved';

// [form, allowed inside the workspace, escape outside it, only known at run time]
const forms: [string, string, string, string][] = [
  ['>', 'echo x > out.txt', 'echo x > /etc/passwd', 'echo x > "$F"'],
  ['> absolute inside', `echo x > ${ws}/out.txt`, 'echo x > /tmp/../etc/passwd', 'echo x > $(mktemp)'],
  ['>>', 'echo x >> sub/log.txt', 'echo x >> ../outside.txt', 'echo x >> "$HOME/.bashrc"'],
  ['2>', 'ls 2> err.txt', 'ls 2> /root/err', 'ls 2> ~/err'],
  ['&>', 'make &> build.log', 'make &> /etc/profile', 'make &> `mktemp`'],
  ['&>>', 'make &>> build.log', 'make &>> //etc/profile', 'make &>> $LOG'],
  ['>|', 'echo x >| out.txt', 'echo x >| /etc/hosts', 'echo x >| {a,/etc/hosts}'],
  ['<>', 'exec 3<> fifo', 'exec 3<> /etc/passwd', 'exec 3<> $P'],
  ['>& file', 'ls >& out.log', 'ls >& /etc/motd', 'ls >& $L'],
  ['tee', 'echo x | tee a.txt', 'echo x | tee -a /etc/sudoers', 'echo x | tee "$OUT"'],
  ['tee (second file)', 'echo x | tee a b', 'echo x | tee a /etc/sudoers', 'echo x | tee a $B'],
  ['dd of=', 'dd if=/dev/zero of=disk.img bs=1M count=1', 'dd if=x of=/dev/sda', 'dd if=x of=$DEV'],
  ['dd of=//', 'dd if=x of=./disk.img', 'dd if=x of=//dev/sda', 'dd if=x "$OF"'],
  [
    'curl -o',
    'curl -o page.html https://e.com',
    'curl -o /root/.ssh/authorized_keys https://e.com',
    'curl -o "$HOME/.ssh/authorized_keys" https://e.com',
  ],
  [
    'curl -o (bundled)',
    'curl -sSLo page.html https://e.com',
    'curl -sSLo /etc/cron.d/x https://e.com',
    'curl -sSLo$X https://e.com',
  ],
  [
    'curl --output',
    'curl --output page.html https://e.com',
    'curl --output /etc/x https://e.com',
    'curl --output $X https://e.com',
  ],
  [
    'curl --output=',
    'curl --output=page.html https://e.com',
    'curl --output=/etc/x https://e.com',
    'curl --output=$X https://e.com',
  ],
  [
    'curl --output-dir',
    'curl --output-dir sub -O https://e.com/x',
    'curl --output-dir /etc -O https://e.com/x',
    'curl --output-dir "$D" -O https://e.com/x',
  ],
  ['curl -D/-c', 'curl -D h.txt -c jar https://e.com', 'curl -c /etc/jar https://e.com', 'curl -D $H https://e.com'],
  ['wget -O', 'wget -O page.html https://e.com', 'wget -O /etc/x https://e.com', 'wget -O "$X" https://e.com'],
  ['wget -P / cwd', 'wget https://e.com/x', 'wget -P /etc https://e.com/x', 'cd "$D" && wget https://e.com/x'],
  ['cp last argument', 'cp a b', 'cp a /etc/', 'cp a "$D"'],
  ['cp -t', 'cp -t sub a b', 'cp -t /etc a', 'cp -t $D a'],
  ['cp --target-directory', 'cp --target-directory=sub a', 'cp --target=/etc a', 'cp $OPTS a b'],
  ['mv (sources are removed)', 'mv a sub/b', 'mv /etc/passwd ./p', 'mv $A b'],
  ['mv destination', 'mv a b', 'mv a ../b', 'mv a $B'],
  ['install', 'install -m 755 build/x bin/x', 'install -m 4755 x /usr/local/bin/x', 'install x $DEST'],
  ['install -d', 'install -d sub/a sub/b', 'install -d sub/a /etc/evil', 'install -d $D'],
  ['truncate', 'truncate -s 0 log.txt', 'truncate -s 0 /var/log/auth.log', 'truncate -s0 $F'],
  ['sed -i', "sed -i 's/a/b/' src/x.ts", "sed -i 's/a/b/' /etc/hosts", "sed -i 's/a/b/' $F"],
  ['sed -i -e', 'sed -i -e s/a/b/ -e s/c/d/ x y', 'sed -i -e s/a/b/ x /etc/hosts', 'sed -i -e s/a/b/ x "$Y"'],
  ['sed -i backup', 'sed -i.bak s/a/b/ x', "sed -i'/etc/*' s/a/b/ x", 'sed -i$S s/a/b/ x'],
  ['sed --in-place', 'sed --in-place s/a/b/ x', 'sed --in-place=.bak s/a/b/ /etc/hosts', 'sed --in-place s/a/b/ $(ls)'],
  ['tar -C', 'tar -xzf a.tgz -C build', 'tar -xzf a.tgz -C /', 'tar -xzf a.tgz -C "$D"'],
  ['tar old-style C', 'tar xzfC a.tgz sub', 'tar xzfC a.tgz /etc', 'tar xzfC a.tgz $D'],
  [
    'tar --directory',
    'tar -xf a.tar --directory=sub',
    'tar -xf a.tar --directory /usr',
    'tar -xf a.tar --directory=$D',
  ],
  ['tar create -f', 'tar -czf out.tgz src', 'tar -czf /tmp/../etc/x.tgz src', 'tar -czf "$OUT" src'],
  ['tar -x into cwd', 'tar -xf a.tar', 'cd / && tar -xf a.tar', 'tar -xPf a.tar'],
  ['ln link', 'ln -s target link', 'ln -sf x /usr/bin/x', 'ln -s x "$L"'],
  ['ln points to', 'ln -s sub/deep link', 'ln -s /etc/passwd link', 'ln -s "$T" link'],
  ['ln -s relative to the link', 'ln -s ../a sub/l', 'cd ./sub && ln -s ../x ../l', 'ln -s ../x -t $D'],
  ['ln hard link', 'ln a b', 'ln /etc/shadow s', 'ln $A b'],
  ['chmod -R', 'chmod -R 755 build', 'chmod -R 777 /etc', 'chmod -R 755 $D'],
  ['chmod -R glob', 'chmod -R 755 sub/*', 'chmod -R 755 /etc/*', 'chmod -R 755 .*'],
  ['chmod', 'chmod 644 a.txt', 'chmod 644 /etc/shadow', 'chmod 644 "$F"'],
  ['chmod -R -L', 'chmod -R -w sub', 'chmod -R u+w /home', 'chmod -R -L 777 sub'],
  ['chown -R', 'chown -R me:me build', 'chown -R me:me /home', 'chown -R me $(pwd)/..'],
  ['chgrp --reference', 'chgrp --reference=a b', 'chgrp --reference=a /etc/passwd', 'chgrp --reference=a $B'],
  ['mkfs.*', 'mkfs.ext4 disk.img', 'mkfs.ext4 /dev/sda1', 'mkfs.ext4 $DEV'],
  ['mke2fs', 'mke2fs -t ext4 disk.img', 'mke2fs -t ext4 /dev/sdb', 'mke2fs -t ext4 "$DEV"'],
  ['rm', 'rm -rf build', 'rm -rf ../..', 'rm -rf "$DIR"'],
  ['rm absolute', 'rm -f ./a', 'rm -f /etc/passwd', 'rm -rf {build,/etc}'],
  ['rm glob', 'rm -rf ./*', 'rm -rf /proc/self/root/*', 'rm -rf */../..'],
  ['rm after cd', 'cd ./sub && rm -rf ./*', 'cd / && rm -rf ./*', 'cd "$X" && rm -f a'],
  ['rm via cd ..', 'cd ./sub && rm -f deep/a', 'cd ./sub && rm -f ../../a', 'cd && rm -f a'],
  ['rmdir/unlink/shred', 'rmdir sub/deep && unlink a && shred -u b', 'shred -u /etc/shadow', 'unlink $F'],
  ['find -delete', "find . -name '*.o' -delete", 'find / -delete', 'find "$D" -delete'],
  ['find -L -delete', 'find sub -type f -delete', 'find /etc -type f -delete', 'find -L . -delete'],
  ['find -exec', 'find . -exec rm {} \\;', 'find /etc -exec chmod 777 {} +', 'find . -exec rm $X {} \\;'],
  [
    'find -exec destination',
    'find . -exec cp {} sub/ \\;',
    'find . -exec cp {} /etc/ \\;',
    'find . -follow -exec rm {} +',
  ],
  ['find -execdir', 'find . -execdir rm {} +', 'find /root -execdir rm {} +', 'find . -execdir mv {} ../x \\;'],
  ['find -fprint', 'find . -fprint list.txt', 'find . -fprint /etc/list', 'find . -fprint $L'],
  [
    'curl -o #1 (URL glob)',
    "curl -g 'https://e.com/{a}' -o '#1'",
    "curl -g -o /etc/'#1' 'https://e.com/{a}'",
    "curl 'https://e.com/{../../etc/passwd}' -o '#1'",
  ],
  ['rsync destination', 'rsync -a src/ build/', 'rsync -a src/ /etc/', 'rsync -a src/ "$D"'],
  [
    'rsync remote and backup-dir',
    'rsync -a src/ host:/etc/',
    'rsync -a --backup-dir=/etc src/ build/',
    'rsync -a src/ build/ $X',
  ],
  ['touch', 'touch a b', 'touch /etc/cron.d/x', 'touch "$F"'],
  ['mkdir', 'mkdir -p sub/x', 'mkdir -p /etc/evil', 'mkdir -m 700 $D'],
  ['sort -o', 'sort -o sorted.txt a', 'sort -o /etc/passwd a', 'sort -o $OUT a'],
  ['unzip', 'unzip a.zip -d build', 'unzip a.zip -d /usr/local', 'unzip a.zip -d "$D"'],
  ['unzip into cwd', 'unzip -q a.zip', 'cd /opt && unzip a.zip', 'pushd sub && unzip a.zip'],
  ['symlink out of the workspace', 'echo x > sub/a', 'echo x > etc-link/passwd', 'echo x > etc-link/$F'],
  ['sh -c script', "bash -c 'echo x > out'", "bash -c 'echo x > /etc/passwd'", 'bash -c \'echo x > "$F"\''],
  ['command substitution', 'echo $(echo x > out)', 'echo $(echo x > /etc/x)', 'echo $(echo x > $F)'],
  ['wrappers', 'env A=1 timeout 5 cp a b', 'env A=1 timeout 5 cp a /etc/', 'xargs rm'],
  ['sudo tee', 'echo x | sudo tee a', 'echo x | sudo tee /etc/sudoers.d/x', 'echo x | sudo tee $F'],
];

describe('shell: every path a command writes to is checked against the path rules', () => {
  describe.each(forms)('%s', (_form, allowed, outside, unresolved) => {
    it(`allows ${JSON.stringify(allowed)}`, () => {
      expect(check(allowed).reasons).toEqual([]);
    });
    it(`denies ${JSON.stringify(outside)} as leaving the allowed roots`, () => {
      const c = codes(outside);
      expect(c.some((x) => x === ESCAPE || x === 'args.command.write_symlink_escape')).toBe(true);
    });
    it(`denies ${JSON.stringify(unresolved)} as only known at run time`, () => {
      expect(codes(unresolved)).toContain(UNRESOLVED);
    });
  });

  it.each([
    'ls > /dev/null 2>&1',
    'ls 2>/dev/null >&2',
    'ls >&-',
    'echo x | tee /dev/stderr',
    'echo x | tee -',
    'curl -o - https://e.com',
    'wget -O - https://e.com',
    'ls >/dev/fd/3',
    "sed 's/a/b/' /etc/hosts",
    'cp /etc/hosts ./hosts',
    'tar -tf /etc/x.tar',
    'cat /etc/hosts > hosts',
  ])('reading outside the workspace, or writing to a stream, is not a write there: %j', (cmd) => {
    expect(check(cmd).reasons).toEqual([]);
  });

  it.each([
    // Every cd is assumed to take effect (it may run in a subshell, or fail before `;`/`||`), so a relative
    // target must be allowed from each directory: fail-closed even where the cd in fact succeeded.
    'cd ./sub/deep && rm -f ../a',
    'cd ./sub || true; rm -f ../a',
    '(cd ./sub/deep); rm -f ../../../a',
  ])('a relative target after a cd must be allowed from every directory it may run in: %j', (cmd) => {
    expect(codes(cmd)).toContain(ESCAPE);
  });

  it('a relative target from a -execdir command is relative to each match, only known at run time', () => {
    expect(codes('find . -execdir cp {} x \\;')).toContain(UNRESOLVED);
    expect(check('find . -type f -execdir chmod 644 {} +').reasons).toEqual([]);
  });

  it.each([
    'env -C /etc rm -f passwd',
    'env --chdir=/etc tee passwd',
    "env -C /etc sh -c 'echo x > passwd'",
    "find . -execdir sh -c 'echo x > ../y' \\;",
  ])('a command run in another directory has unknown relative targets: %j', (cmd) => {
    expect(codes(cmd)).toContain(UNRESOLVED);
  });

  it('a path the policy denies is denied as a write target too (write_denied)', () => {
    const rule = compilePathRule(ws, undefined, undefined, ['secrets/**']);
    const r = checkCommand('echo x > secrets/key', { builtin: false, arg: 'command', paths: rule });
    expect(r.reasons.map((x) => x.code)).toEqual(['args.command.write_denied']);
    const ok = checkCommand('echo x > public/key', { builtin: false, arg: 'command', paths: rule });
    expect(ok.reasons).toEqual([]);
  });

  it('an allow list applies to write targets (write_not_allowed)', () => {
    const rule = compilePathRule(ws, undefined, ['build/**']);
    expect(
      checkCommand('cp a src/b', { builtin: false, arg: 'command', paths: rule }).reasons.map((x) => x.code),
    ).toEqual(['args.command.write_not_allowed']);
    expect(checkCommand('cp a build/b', { builtin: false, arg: 'command', paths: rule }).reasons).toEqual([]);
  });

  it('an extra root is allowed like the workspace', () => {
    const rule = compilePathRule(ws, ['/tmp']);
    expect(checkCommand('echo x > /tmp/x', { builtin: false, arg: 'command', paths: rule }).reasons).toEqual([]);
    expect(checkCommand('echo x > /var/tmp/x', { builtin: false, arg: 'command', paths: rule }).ok).toBe(false);
  });

  it('reason evidence names the command and the message the target', () => {
    const [r] = check('curl -o /etc/x https://e.com').reasons;
    expect(r?.evidence).toContain('curl -o /etc/x');
    expect(r?.message).toContain('/etc/x');
  });
});

describe('shell: writes to a device are denied by the built-in rules, without path rules', () => {
  const builtin = (cmd: string) => checkCommand(cmd, { builtin: true, arg: 'command' });
  it.each([
    'echo x > /dev/sda',
    'cat img > //dev/sda',
    'dd if=img of=//dev/sda',
    'dd if=img of=/dev/../dev/sda',
    'cat img | tee /dev/nvme0n1 >/dev/null',
    'cd /dev && cat img > sda',
    'cp img /dev/sdb',
    'mke2fs /dev/sdb',
    'mkswap /dev/sdb2',
    "sh -c 'cat img > /dev/sda'",
  ])('denies %j (disk_write)', (cmd) => {
    expect(builtin(cmd).reasons.map((r) => r.code)).toContain('args.command.disk_write');
  });
  it.each(['ls > /dev/null 2>&1', 'echo x >/dev/stderr', 'dd if=/dev/zero of=disk.img count=1'])('allows %j', (cmd) => {
    expect(builtin(cmd).reasons).toEqual([]);
  });
});
