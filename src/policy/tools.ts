import { fileURLToPath } from 'node:url';
import type { ArgRuleConfig } from '../config/sections/policy.js';
import type { ToolConfig } from '../config/sections/tools.js';
import type { Reason } from '../core/decision.js';
import { PolicyError } from './compile.js';
import { normalizeUri, PATH_NAMES, URL_NAMES } from './normalize.js';
import { checkPath, compilePathRule, type PathRule, resourceOfPath } from './paths.js';
import { matchSegment } from './resources.js';
import { type CommandPattern, checkCommand, compileCommandPattern } from './shell.js';
import { checkUrl, type UrlRule } from './urls.js';

/** Where the sandbox mounts the workspace (src/sandbox/bwrap.ts SANDBOX_WORKSPACE; policy does not import sandbox). */
const SANDBOX_WORKSPACE = '/workspace';

/**
 * Tool argument rules: each configured argument is checked by its kind (path, shell command, URL/host, value).
 * An argument name may reach into nested objects (`edits.path`); lists are checked element by element at every
 * level. Every path (and every `file:` URL) names a resource the action addresses (`workspace/docs/a.md`), which
 * the policy's resource patterns then match: all of them, so a second path or a list element cannot slip past a
 * forbid. Path-like arguments the configuration does not declare (`source`, `paths`, …) name resources too.
 */
export type ArgKind = 'path' | 'command' | 'url' | 'value';

const COMMAND_NAMES = new Set(['command', 'cmd', 'script', 'shell']);
const HOST_NAMES = new Set(['host', 'hostname', 'domain']);

/** The kind of an argument rule: explicit, or inferred from the argument's name. */
export function argKind(name: string, rule: ArgRuleConfig): ArgKind {
  if (rule.kind) return rule.kind;
  const n = (name.split('.').pop() ?? name).toLowerCase();
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
      paths: PathRule;
      allow?: CommandPattern[];
      deny?: CommandPattern[];
    }
  | { name: string; kind: 'url'; required: boolean; rule: UrlRule }
  | {
      name: string;
      kind: 'value';
      required: boolean;
      type?: ArgType;
      allow?: (v: string) => boolean;
      deny?: (v: string) => boolean;
    };

type ArgType = NonNullable<ArgRuleConfig['type']>;

function hasType(v: unknown, type: ArgType): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return Number.isSafeInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
  }
}

/** The JSON type of a value, never the value (it may be a secret). */
function typeName(v: unknown): string {
  return Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'a map' : `a ${typeof v}`;
}

export interface ArgCheck {
  ok: boolean;
  reasons: Reason[];
  /** The first of `resources`. */
  resource?: string;
  /** Every resource the arguments address, each once, in argument order. */
  resources: string[];
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
  const declared = new Set<string>();
  const lenient = compilePathRule(workspace, undefined);
  for (const [name, rule] of Object.entries(cfg.args ?? {})) {
    declared.add(name.split('.')[0]!);
    const where = `tools.${tool}.args.${name}`;
    const kind = argKind(name, rule);
    try {
      if (rule.type && rule.type !== 'string' && kind !== 'value') {
        throw new Error(`found type ${rule.type} on a ${kind} argument, expected string (or kind: value)`);
      }
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
            paths: commandPaths(workspace, rule.roots, cfg.sandbox !== undefined),
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
            ...(rule.type ? { type: rule.type } : {}),
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
      const resources: string[] = [];
      const addResource = (r: string | undefined) => {
        if (r !== undefined && !resources.includes(r)) resources.push(r);
      };
      for (const a of args) {
        const v = select(values, a.name);
        if (v === undefined) {
          if (a.required)
            reasons.push({
              code: 'args.missing',
              message: `${tool} needs argument ${a.name}`,
              ruleId: `tools.${tool}.args.${a.name}`,
            });
          continue;
        }
        if (a.kind === 'value' && a.type) {
          if (!hasType(v, a.type)) {
            reasons.push({
              code: 'args.type',
              message: `${tool} argument ${a.name} must be a ${a.type}, found ${typeName(v)}`,
              ruleId: `tools.${tool}.args.${a.name}`,
            });
            continue;
          }
          if (a.type !== 'string') continue;
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
              addResource(r.resource);
              break;
            }
            case 'command': {
              const r = checkCommand(item, {
                builtin: a.builtin,
                arg: a.name,
                paths: a.paths,
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
              addResource(uriResource(a.name, item, lenient));
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
      // Undeclared path-like arguments are not confined here, but what they address is still a resource.
      for (const [k, v] of Object.entries(values ?? {})) {
        if (declared.has(k)) continue;
        const n = k.toLowerCase();
        const path = PATH_NAMES.has(n);
        if (!path && !URL_NAMES.has(n)) continue;
        for (const item of Array.isArray(v) ? v : [v]) {
          if (typeof item !== 'string' || item === '') continue;
          addResource(
            path ? (fileResource(item, lenient) ?? resourceOfPath(item, lenient)) : uriResource(k, item, lenient),
          );
        }
      }
      return {
        ok: reasons.length === 0,
        reasons,
        ...(resources.length > 0 ? { resource: resources[0]! } : {}),
        resources,
      };
    },
  };
}

/**
 * Where a command may write: the workspace, /tmp (the sandbox's is private to the run; a host's is shared
 * scratch space) and the rule's `roots` (`roots: ["/"]` lifts the confinement). In a sandbox the workspace is
 * mounted at /workspace, so absolute paths there are the workspace's.
 */
function commandPaths(workspace: string, roots: readonly string[] | undefined, sandboxed: boolean): PathRule {
  const rule = compilePathRule(workspace, ['/tmp', ...(roots ?? [])]);
  return sandboxed ? { ...rule, mount: SANDBOX_WORKSPACE } : rule;
}

/**
 * The value at a dotted argument name (`edits.path`): lists on the way are entered element by element and the
 * results flattened. Undefined when nothing is there; a step into a scalar yields a value the caller's type
 * check denies (`edits: "x"` where `edits.path` is declared).
 */
const WRONG_SHAPE: unknown = Object.freeze({});

function select(values: Record<string, unknown> | undefined, name: string): unknown {
  if (!values) return undefined;
  const direct = values[name];
  if (direct !== undefined || !name.includes('.')) return direct === null ? undefined : direct;
  let cur: unknown[] = [values];
  for (const key of name.split('.')) {
    const next: unknown[] = [];
    for (const c of cur) {
      for (const x of Array.isArray(c) ? c.flat(32) : [c]) {
        if (x === null || x === undefined) continue;
        if (typeof x !== 'object' || x === WRONG_SHAPE || Array.isArray(x)) next.push(WRONG_SHAPE);
        else if (Object.hasOwn(x, key)) next.push((x as Record<string, unknown>)[key]);
      }
    }
    cur = next;
  }
  const flat = cur.flat().filter((x) => x !== undefined && x !== null);
  return flat.length === 0 ? undefined : flat;
}

/**
 * What a URL argument addresses: a `file:` URL its file; a `uri` (an MCP resource) the normalised URI itself, so
 * resource globs constrain every scheme; other URLs (`url`, `endpoint`) none: hosts and schemes rules do.
 */
function uriResource(name: string, value: string, rule: PathRule): string | undefined {
  const file = fileResource(value, rule);
  if (file !== undefined) return file;
  if ((name.split('.').pop() ?? name).toLowerCase() !== 'uri') return undefined;
  // A URI without a scheme must not pass for a resource name such as `workspace/docs/a.md`.
  const uri = normalizeUri(value);
  return (/^[a-z][a-z0-9+.-]*:/i.test(uri) ? uri : `uri:${uri}`).slice(0, 2048);
}

/** The resource a `file:` URL addresses (normalised first: `%2e%2e` is `..`); undefined for other URLs. */
function fileResource(value: string, rule: PathRule): string | undefined {
  if (!/^file:/i.test(value)) return undefined;
  try {
    return resourceOfPath(fileURLToPath(normalizeUri(value)), rule);
  } catch {
    // A file URL naming a host or an encoded slash cannot be a local path: it addresses something unknown.
    return `file:${value.length > 200 ? value.slice(0, 200) : value}`;
  }
}
