import { describe, expect, it } from 'vitest';
import { checkCommand, compileCommandPattern } from '../../src/policy/shell.js';

// The built-in rule against destroying / or a home holds with no path rules at all (`roots: ["/"]`, or a caller
// of checkCommand without them): every spelling of the same directory is the same directory.
const codes = (cmd: string) => checkCommand(cmd, { builtin: true, arg: 'command' }).reasons.map((r) => r.code);
const RM_ROOT = 'args.command.rm_root';

describe('built-in rm_root, without path rules', () => {
  it.each([
    'rm -rf ../../..',
    'rm -rf ../../../',
    'rm -rf ../*',
    'rm -rf ..//../.',
    'cd / && rm -rf ./*',
    'cd / ; rm -rf *',
    'cd /etc && rm -rf .',
    'cd ./src && rm -rf ../..',
    'rm -rf ~root',
    'rm -rf ~root/',
    'rm -rf ~admin/*',
    'rm -rf ~-',
    'rm -rf /proc/self/root',
    'rm -rf /proc/self/root/*',
    'rm -rf /proc/1/cwd/',
    'rm -rf //',
    'rm -rf /.',
    'rm -rf /./',
    'rm -rf ///usr',
    'rm -rf /usr/lib/../..',
    'rm -rf /etc/*',
    'rm -rf /home/*',
    'rm -rf /var/',
    'rm -rf "$HOME"',
    'rm -rf "$HOME/"',
    `rm -rf ${'$'}{HOME:?}/*`,
    'rm -rf "build/$X"',
    'rm $FLAGS /',
    'rm --rec --force /',
    'rm --recursive /etc',
    'rm -r --no-pres /tmp/x',
    'rm --n -rf /tmp/x',
    'rm -rf {/,x}',
    'find -L / -delete',
    'find -H / -name x -delete',
    'find /etc -delete',
    'find . -follow -delete',
    'cd / && find . -delete',
    'cd "$D" && rm -rf build',
    'ln -s / r && rm -rf r/*',
    "sh -c 'rm -rf ~root'",
    'env -C / rm -rf usr',
  ])('denies %j', (cmd) => {
    expect(codes(cmd)).toContain(RM_ROOT);
  });

  it.each([
    'rm -rf build',
    'rm -rf ./build dist/',
    'rm -rf ./*',
    'rm -rf node_modules/.cache',
    'rm -rf *',
    'cd ./sub && rm -rf ./*',
    'rm -rf /tmp/build-1234',
    'rm -rf ~/project/build',
    'rm -f ../a',
    'rm -f /etc/x.conf.bak',
    'rm -rf /workspace/dist',
    'find . -name "*.o" -delete',
    'find build -type f -delete',
    'ln -s /etc/hosts h && rm -f h',
    'rm -rf build && ln -s /usr/bin/node n',
  ])('allows %j', (cmd) => {
    expect(codes(cmd)).not.toContain(RM_ROOT);
  });

  it('a user pattern matches an abbreviated long option as the option', () => {
    const deny = [compileCommandPattern('rm -rf /')];
    const r = checkCommand('rm --recu --fo /', { builtin: false, deny, arg: 'command' });
    expect(r.reasons.map((x) => x.code)).toContain('args.command.denied');
    expect(checkCommand('rm --verbose /', { builtin: false, deny, arg: 'command' }).ok).toBe(true);
  });
});
