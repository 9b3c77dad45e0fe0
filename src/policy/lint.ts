import type { Config } from '../config/schema.js';
import type { PolicyIssue } from './compile.js';
import { normalizeUri } from './normalize.js';
import { matchToolPattern } from './resources.js';

/**
 * `policy validate --strict`: rules that load but can never match. Each is a mistake the file's author did not
 * mean (a misspelt tool, a grant that expired, a forbid on a tool the catalogue denies anyway), so strict mode
 * fails on them.
 */
export function lintPolicy(config: Config, now: number): PolicyIssue[] {
  const tools = Object.keys(config.tools);
  const issues: PolicyIssue[] = [];
  const known = (pattern: string) => tools.some((t) => matchToolPattern(pattern, t));
  const catalogue = tools.length > 0 ? tools.join(', ') : 'none';

  const unconditional = config.policy.forbid.filter(
    (f) => !f.when && !f.resources && !(f.agents?.length ?? 0) && !(f.roles?.length ?? 0),
  );
  const forbiddenForAll = (tool: string) => unconditional.some((f) => f.tools.some((p) => matchToolPattern(p, tool)));

  const checkGrant = (
    g: { tools: string[]; expires?: string | undefined; not_before?: string | undefined },
    path: Array<string | number>,
  ) => {
    g.tools.forEach((p, k) => {
      if (!known(p)) {
        issues.push({
          path: [...path, 'tools', k],
          message: `found tool "${p}", which names no tool of the catalogue (${catalogue}); it can never be called`,
        });
      }
    });
    const expires = g.expires ? Date.parse(g.expires) : undefined;
    const from = g.not_before ? Date.parse(g.not_before) : undefined;
    if (expires !== undefined && expires <= now) {
      issues.push({
        path: [...path, 'expires'],
        message: `found ${g.expires}, which has passed: the grant never applies`,
      });
    } else if (expires !== undefined && from !== undefined && from >= expires) {
      issues.push({
        path: [...path, 'not_before'],
        message: `found not_before ${g.not_before} at or after expires ${g.expires}: the grant never applies`,
      });
    }
    const covered = tools.filter((t) => g.tools.some((p) => matchToolPattern(p, t)));
    if (covered.length > 0 && covered.every(forbiddenForAll)) {
      issues.push({
        path: [...path, 'tools'],
        message: `every tool it grants (${covered.join(', ')}) is forbidden to everyone without condition: unreachable`,
      });
    }
  };

  // Conditions see paths and URIs normalised: a literal in another spelling can never be equal to one.
  const checkLiterals = (when: string | undefined, path: Array<string | number>) => {
    if (!when) return;
    for (const m of when.matchAll(/'([^'\\\n]*)'|"([^"\\\n]*)"/g)) {
      const lit = m[1] ?? m[2] ?? '';
      if (!lit.includes('/')) continue;
      const canonical = normalizeUri(lit);
      if (canonical !== lit) {
        issues.push({
          path,
          message: `found the literal "${lit}", which conditions never see: arguments are normalised, expected "${canonical}"`,
        });
      }
    }
  };

  for (const [name, role] of Object.entries(config.roles)) {
    role.grants.forEach((g, i) => {
      checkGrant(g, ['roles', name, 'grants', i]);
      checkLiterals(g.when, ['roles', name, 'grants', i, 'when']);
    });
  }
  config.policy.grants.forEach((g, i) => {
    checkGrant(g, ['policy', 'grants', i]);
    checkLiterals(g.when, ['policy', 'grants', i, 'when']);
  });
  config.policy.forbid.forEach((f, i) => {
    checkLiterals(f.when, ['policy', 'forbid', i, 'when']);
    f.tools.forEach((p, k) => {
      if (!known(p)) {
        issues.push({
          path: ['policy', 'forbid', i, 'tools', k],
          message: `found tool "${p}", which names no tool of the catalogue (${catalogue}): the catalogue already denies it, so this forbid never applies`,
        });
      }
    });
  });
  return issues;
}
