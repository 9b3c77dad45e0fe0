import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { action, cli } from './common.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

/** Every command path with its subcommands and long options, walked from the fully registered program. */
export function commandTree(program: Command): Map<string, { subs: string[]; options: string[] }> {
  const tree = new Map<string, { subs: string[]; options: string[] }>();
  const walk = (cmd: Command, path: string): void => {
    const subs = cmd.commands.map((c) => c.name());
    const options = cmd.options.map((o) => o.long).filter((l): l is string => l !== undefined);
    tree.set(path, { subs, options: [...options, '--help'] });
    for (const c of cmd.commands) walk(c, path === '' ? c.name() : `${path} ${c.name()}`);
  };
  walk(program, '');
  return tree;
}

function bash(tree: ReturnType<typeof commandTree>): string {
  const cases = [...tree]
    .map(([path, { subs, options }]) => `    "${path}") words="${[...subs, ...options].join(' ')}" ;;`)
    .join('\n');
  return `# gatehouse bash completion: eval "$(gatehouse completion bash)"
_gatehouse() {
  local cur path="" i w words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --config|--data) ((i++)) ;;
      -*) ;;
      *) if [ -z "$path" ]; then path="$w"; else path="$path $w"; fi ;;
    esac
  done
  case "$path" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _gatehouse gatehouse
`;
}

function zsh(tree: ReturnType<typeof commandTree>): string {
  return `#compdef gatehouse
# gatehouse zsh completion: eval "$(gatehouse completion zsh)"
autoload -U +X bashcompinit && bashcompinit
${bash(tree).replace(/^# .*\n/, '')}`;
}

function fish(tree: ReturnType<typeof commandTree>): string {
  const lines = ['# gatehouse fish completion: gatehouse completion fish | source', 'complete -c gatehouse -f'];
  for (const [path, { subs, options }] of tree) {
    const parts = path === '' ? [] : path.split(' ');
    const cond =
      parts.length === 0
        ? `not __fish_seen_subcommand_from ${tree.get('')?.subs.join(' ')}`
        : `__fish_seen_subcommand_from ${parts[parts.length - 1]}`;
    for (const s of subs) lines.push(`complete -c gatehouse -n '${cond}' -a ${s}`);
    for (const o of options) lines.push(`complete -c gatehouse -n '${cond}' -l ${o.slice(2)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: gatehouse completion bash|zsh|fish')
    .argument('<shell>', SHELLS.join(', '))
    .action(
      action(async (shell: string) => {
        if (!(SHELLS as readonly string[]).includes(shell)) throw new InputError('shell', `use ${SHELLS.join(', ')}`);
        // The script lists every command's subcommands and options, so it needs all modules (run once, at install).
        const { buildProgram } = await import('./run.js');
        const tree = commandTree(await buildProgram('all', cli()));
        cli().stdout({ bash, zsh, fish }[shell as Shell](tree));
        return 0;
      }),
    );
}
