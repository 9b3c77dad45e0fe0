import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../node_modules/', import.meta.url).pathname;

/**
 * Up to `chars` of the files under node_modules whose names end in one of `exts`, in sorted (deterministic) order:
 * real prose and code to measure on, the same on every machine with the same lock file. Minified files are left out.
 */
export function corpus(exts: string[], chars: number, opts: { maxDepth: number; maxFileBytes: number }): string {
  const parts: string[] = [];
  let total = 0;
  const walk = (dir: string, depth: number): void => {
    if (total >= chars || depth > opts.maxDepth) return;
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const e of entries) {
      if (total >= chars) return;
      const p = join(dir, e);
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p, depth + 1);
      else if (exts.some((x) => e.endsWith(x)) && st.size < opts.maxFileBytes && !e.endsWith('.min.js')) {
        const text = readFileSync(p, 'utf8');
        parts.push(text);
        total += text.length;
      }
    }
  };
  walk(root, 0);
  return parts.join('\n').slice(0, chars);
}

/** `text` cut into consecutive pieces of `size` characters (a short tail is dropped). */
export function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + size <= text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
