/**
 * Resource globs compiled into a segment trie. Patterns are `/`-separated; inside a segment `*` matches any run
 * of characters and `?` one character; a whole segment `*` matches exactly one segment; a whole segment `**`
 * matches zero or more segments. No user regex: matching walks the trie keeping a set of active nodes (an NFA
 * simulation), so the cost is bounded by the path's segments times the trie's size, never exponential.
 */

interface Node<T> {
  literal: Map<string, Node<T>>;
  /** Whole-segment `*`. */
  star?: Node<T>;
  /** Segments with `*` or `?` inside them (`*.md`, `v?`). */
  globs: Array<{ pattern: string; node: Node<T> }>;
  /** Whole-segment `**`: entered without consuming a segment, and it consumes any number of them. */
  dstar?: Node<T>;
  /** This node is a `**` node: it stays active on every segment. */
  loop: boolean;
  /** Values of patterns that end exactly here. */
  end: T[];
  /** Step stamp of the last walk that activated this node (dedupes the active set without a Set). */
  mark: number;
}

function node<T>(loop = false): Node<T> {
  return { literal: new Map(), globs: [], end: [], loop, mark: 0 };
}

export function splitResource(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** Matches one segment against a glob with `*` and `?` (two-pointer algorithm, O(n·m) worst case, no regex). */
export function matchSegment(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern.charCodeAt(p);
    if (p < pattern.length && (pc === 63 /* ? */ || pc === text.charCodeAt(t))) {
      p++;
      t++;
    } else if (p < pattern.length && pc === 42 /* * */) {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
}

function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

/** A set of resource globs, each carrying a value, matched together in one walk. */
export class ResourceTrie<T> {
  private readonly root: Node<T> = node();
  private count = 0;

  get size(): number {
    return this.count;
  }

  insert(pattern: string, value: T): void {
    let n = this.root;
    // Paths are matched in NFC (paths.ts), so patterns are too.
    for (const s of splitResource(pattern.normalize('NFC'))) {
      if (s === '**') {
        n.dstar ??= node(true);
        n = n.dstar;
      } else if (s === '*') {
        n.star ??= node();
        n = n.star;
      } else if (hasWildcard(s)) {
        let g = n.globs.find((x) => x.pattern === s);
        if (!g) {
          g = { pattern: s, node: node() };
          n.globs.push(g);
        }
        n = g.node;
      } else {
        let c = n.literal.get(s);
        if (!c) {
          c = node();
          n.literal.set(s, c);
        }
        n = c;
      }
    }
    n.end.push(value);
    this.count++;
  }

  /** Every value whose pattern matches `path`, each once. */
  match(path: string): T[] {
    const out: T[] = [];
    this.matchSegments(splitResource(path), out);
    return [...new Set(out)];
  }

  /**
   * Pushes the values of every pattern matching the already split path onto `out` (a value may appear more than
   * once when several of its patterns match). The hot path: no allocation beyond two small arrays per step.
   */
  matchSegments(segs: readonly string[], out: T[]): void {
    // Two arrays reused across calls (matching is synchronous): no allocation per segment.
    let active = this.bufA;
    let next = this.bufB;
    active.length = 0;
    this.enter(active, this.root, ++this.step);
    for (let i = 0; i < segs.length && active.length > 0; i++) {
      const s = segs[i]!;
      next.length = 0;
      const step = ++this.step;
      for (let k = 0; k < active.length; k++) {
        const n = active[k]!;
        if (n.loop) this.enter(next, n, step);
        const lit = n.literal.get(s);
        if (lit) this.enter(next, lit, step);
        if (n.star) this.enter(next, n.star, step);
        for (let g = 0; g < n.globs.length; g++) {
          const glob = n.globs[g]!;
          if (matchSegment(glob.pattern, s)) this.enter(next, glob.node, step);
        }
      }
      const t = active;
      active = next;
      next = t;
    }
    for (let k = 0; k < active.length; k++) {
      const end = active[k]!.end;
      for (let v = 0; v < end.length; v++) out.push(end[v]!);
    }
    active.length = 0;
    next.length = 0;
  }

  private readonly bufA: Node<T>[] = [];
  private readonly bufB: Node<T>[] = [];
  private step = 0;

  /** Activates `n` and, since `**` matches zero segments, its chain of `**` children. */
  private enter(set: Node<T>[], n: Node<T>, step: number): void {
    for (let x: Node<T> | undefined = n; x && x.mark !== step; x = x.dstar) {
      x.mark = step;
      set.push(x);
    }
  }

  /** True when some pattern matches `path`. */
  test(path: string): boolean {
    return this.match(path).length > 0;
  }
}

/** Compiles a list of globs into a predicate. */
export function compileGlobs(patterns: readonly string[]): (path: string) => boolean {
  const trie = new ResourceTrie<true>();
  for (const p of patterns) trie.insert(p, true);
  return (path) => trie.test(path);
}

/** Matches a tool name against a tool pattern (`fs.*`, `*`, exact). */
export function matchToolPattern(pattern: string, tool: string): boolean {
  return pattern === tool || (hasWildcard(pattern) && matchSegment(pattern, tool));
}
