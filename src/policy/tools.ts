import type { ArgRuleConfig } from '../config/sections/policy.js';
import type { ToolConfig } from '../config/sections/tools.js';
import type { Reason } from '../core/decision.js';
import { PolicyError } from './compile.js';
import { checkPath, compilePathRule, type PathRule } from './paths.js';
import { matchSegment } from './resources.js';
import { type CommandPattern, checkCommand, compileCommandPattern } from './shell.js';
import { checkUrl, type UrlRule } from './urls.js';

/**
 * Tool argument rules: each configured argument is checked by its kind (path, shell command, URL/host, value).
 * The first path argument also names the resource the action addresses (`workspace/docs/a.md`), which the
 * policy's resource patterns then match.
 */
export type ArgKind = 'path' | 'command' | 'url' | 'value';

const PATH_NAMES = new Set([
  'path',
  'file',
  'filename',
  'filepath',
  'file_path',
  'dir',
  'directory',
  'source',
  'target',
  'dest',
  'destination',
  'cwd',
]);
const COMMAND_NAMES = new Set(['command', 'cmd', 'script', 'shell']);
const URL_NAMES = new Set(['url', 'uri', 'href', 'endpoint', 'link']);
const HOST_NAMES = new Set(['host', 'hostname', 'domain']);

/** The kind of an argument rule: explicit, or inferred from the argument's name. */
export function argKind(name: string, rule: ArgRuleConfig): ArgKind {
  if (rule.kind) return rule.kind;
  const n = name.toLowerCase();
  if (PATH_NAMES.has(n)) return 'path';
  if (COMMAND_NAMES.has(n)) return 'command';
  if (URL_NAMES.has(n) || HOST_NAMES.has(n)) return 'url';
  return 'value';
}

type CompiledArg =
  | { name: string; kind: 'path'; required: boolean; rule: PathRule }
  | {
      name: string;
      kind: 'command';
      required: boolean;
      builtin: boolean;
      allow?: CommandPattern[];
      deny?: CommandPattern[];
    }
  | { name: string; kind: 'url'; required: boolean; rule: UrlRule }
  | { name: string; kind: 'value'; required: boolean; allow?: (v: string) => boolean; deny?: (v: string) => boolean };

export interface ArgCheck {
  ok: boolean;
  reasons: Reason[];
  resource?: string;
}

export interface CompiledToolRules {
  readonly tool: string;
  check(args: Record<string, unknown> | undefined): ArgCheck;
}

function globList(patterns: readonly string[]): (v: string) => boolean {
  return (v) => patterns.some((p) => matchSegment(p, v));
}

/** Compiles the `args` rules of one tool; bad patterns throw PolicyError naming the tool and argument. */
export function compileToolRules(tool: string, cfg: ToolConfig, workspace: string): CompiledToolRules {
  const args: CompiledArg[] = [];
  for (const [name, rule] of Object.entries(cfg.args ?? {})) {
    const where = `tools.${tool}.args.${name}`;
    const kind = argKind(name, rule);
    try {
      switch (kind) {
        case 'path':
          args.push({
            name,
            kind,
            required: rule.required,
            rule: compilePathRule(workspace, rule.roots, rule.allow, rule.deny),
          });
          break;
        case 'command':
          args.push({
            name,
            kind,
            required: rule.required,
            builtin: rule.builtin,
            ...(rule.allow ? { allow: rule.allow.map(compileCommandPattern) } : {}),
            ...(rule.deny ? { deny: rule.deny.map(compileCommandPattern) } : {}),
          });
          break;
        case 'url':
          args.push({
            name,
            kind,
            required: rule.required,
            rule: {
              schemes: rule.schemes ?? ['https', 'http'],
              ...(rule.hosts || rule.allow ? { hosts: [...(rule.hosts ?? []), ...(rule.allow ?? [])] } : {}),
              ...(rule.deny ? { denyHosts: rule.deny } : {}),
              privateNetworks: rule.private_networks,
              hostOnly: HOST_NAMES.has(name.toLowerCase()),
            },
          });
          break;
        case 'value':
          args.push({
            name,
            kind,
            required: rule.required,
            ...(rule.allow ? { allow: globList(rule.allow) } : {}),
            ...(rule.deny ? { deny: globList(rule.deny) } : {}),
          });
          break;
      }
    } catch (err) {
      throw new PolicyError(`${where}: ${(err as Error).message}`);
    }
  }
  return {
    tool,
    check(values) {
      const reasons: Reason[] = [];
      let resource: string | undefined;
      for (const a of args) {
        const v = values?.[a.name];
        if (v === undefined || v === null) {
          if (a.required)
            reasons.push({
              code: 'args.missing',
              message: `${tool} needs argument ${a.name}`,
              ruleId: `tools.${tool}.args.${a.name}`,
            });
          continue;
        }
        // Lists of paths or URLs are checked element by element; anything else must be a string.
        const items = Array.isArray(v) ? v : [v];
        for (const item of items) {
          if (typeof item !== 'string') {
            reasons.push({
              code: 'args.type',
              message: `${tool} argument ${a.name} must be a string`,
              ruleId: `tools.${tool}.args.${a.name}`,
            });
            continue;
          }
          const ruleId = `tools.${tool}.args.${a.name}`;
          const tag = (rs: Reason[]) => rs.map((r) => ({ ...r, ruleId: r.ruleId ? `${ruleId}:${r.ruleId}` : ruleId }));
          switch (a.kind) {
            case 'path': {
              const r = checkPath(item, a.rule, a.name);
              reasons.push(...tag(r.reasons));
              resource ??= r.resource;
              break;
            }
            case 'command': {
              const r = checkCommand(item, {
                builtin: a.builtin,
                arg: a.name,
                ...(a.allow ? { allow: a.allow } : {}),
                ...(a.deny ? { deny: a.deny } : {}),
              });
              reasons.push(...tag(r.reasons));
              break;
            }
            case 'url': {
              if (item.length > 8192) {
                reasons.push(
                  ...tag([{ code: 'args.url.invalid', message: `${a.name} is longer than 8192 characters` }]),
                );
                break;
              }
              reasons.push(...tag(checkUrl(item, a.rule, a.name).reasons));
              break;
            }
            case 'value': {
              if (a.deny?.(item))
                reasons.push(
                  ...tag([
                    {
                      code: 'args.value.denied',
                      message: `${a.name} has a denied value`,
                      evidence: item.slice(0, 100),
                    },
                  ]),
                );
              if (a.allow && !a.allow(item)) {
                reasons.push(
                  ...tag([
                    {
                      code: 'args.value.not_allowed',
                      message: `${a.name} has a value that is not allowed`,
                      evidence: item.slice(0, 100),
                    },
                  ]),
                );
              }
              break;
            }
          }
        }
      }
      return { ok: reasons.length === 0, reasons, ...(resource !== undefined ? { resource } : {}) };
    },
  };
}
