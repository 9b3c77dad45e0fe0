import { createRequire } from 'node:module';
import { cruise } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

// CI runs only the test command, so the layering rules of `npm run lint` are enforced here as well.
const rules = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as {
  forbidden: unknown[];
  options: Record<string, unknown>;
};

describe('layering', () => {
  it('no stage imports another stage or a surface, and no module cycle loads eagerly', async () => {
    const result = await cruise(['src'], {
      ...rules.options,
      validate: true,
      ruleSet: { forbidden: rules.forbidden },
      tsConfig: { fileName: 'tsconfig.json' },
    } as Parameters<typeof cruise>[1]);
    const output = result.output;
    if (typeof output === 'string') throw new Error('expected a structured cruise result');
    const violations = output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    expect(output.summary.totalCruised).toBeGreaterThan(200);
    expect(violations).toEqual([]);
  }, 60_000);
});
