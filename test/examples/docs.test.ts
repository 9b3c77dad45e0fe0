/**
 * docs/integrations.md shows code taken from the examples, which test/examples/package.test.ts type-checks and runs
 * against the packed package: every code line of a section that links an example must be a line of that example,
 * in the same order (indentation aside), so the page cannot drift from code that is tested.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const DOC = readFileSync(join(REPO, 'docs', 'integrations.md'), 'utf8');

/** `## Title: [examples/x.ts](../examples/x.ts)` sections, with their ```ts blocks. */
function sections(): { title: string; example: string; blocks: string[][] }[] {
  const out: { title: string; example: string; blocks: string[][] }[] = [];
  for (const part of DOC.split(/^## /m).slice(1)) {
    const title = part.slice(0, part.indexOf('\n'));
    const example = /\[examples\/([\w-]+\.ts)\]/.exec(title)?.[1];
    if (!example) continue;
    const blocks = [...part.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]!.split('\n'));
    out.push({ title, example, blocks });
  }
  return out;
}

const lines = (text: string[]) => text.map((l) => l.trim()).filter((l) => l !== '');

/** The code lines of `block` not found, in order, among the lines of `source`. */
function notInOrder(block: string[], source: string[]): string[] {
  const src = lines(source);
  const missing: string[] = [];
  let at = 0;
  for (const line of lines(block)) {
    const i = src.indexOf(line, at);
    if (i === -1) missing.push(line);
    else at = i + 1;
  }
  return missing;
}

describe('docs/integrations.md', () => {
  const found = sections();

  it('has a section with code for every example program', () => {
    const programs = readdirSync(join(REPO, 'examples')).filter(
      (f) => f.endsWith('.ts') && f !== 'scripted-chat-model.ts',
    );
    expect(found.map((s) => s.example).sort()).toEqual(programs.sort());
    for (const s of found) expect(s.blocks.length, s.title).toBeGreaterThan(0);
  });

  for (const s of sections()) {
    it(`${s.example}: every code line of "${s.title.split(':')[0]}" is a line of the example, in order`, () => {
      const source = readFileSync(join(REPO, 'examples', s.example), 'utf8').split('\n');
      for (const block of s.blocks) expect(notInOrder(block, source)).toEqual([]);
    });
  }

  it('names the packages by the name users install, never a source path', () => {
    expect(DOC).not.toMatch(/from '\.\.?\/src\//);
    expect(DOC).not.toMatch(/from 'gatehouse(\/|')/);
  });
});
