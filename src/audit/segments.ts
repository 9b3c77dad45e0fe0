import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const SEGMENT_RE = /^seg-(\d{8})\.jsonl$/;

export function segmentName(n: number): string {
  return `seg-${String(n).padStart(8, '0')}.jsonl`;
}

/** Segment files of a log directory in order, with their numbers. */
export function listSegments(dir: string): { n: number; file: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ m: SEGMENT_RE.exec(name), name }))
    .filter((x): x is { m: RegExpExecArray; name: string } => x.m !== null)
    .map((x) => ({ n: Number(x.m[1]), file: join(dir, x.name) }))
    .sort((a, b) => a.n - b.n);
}

/** Calls `onLine(text, start, end, last, terminated)` for each line of a buffer (without the newline). */
export function forEachLine(
  buf: Buffer,
  onLine: (start: number, end: number, terminated: boolean) => boolean | undefined,
): void {
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(10, start);
    const end = nl === -1 ? buf.length : nl;
    if (onLine(start, end, nl !== -1) === false) return;
    start = end + 1;
  }
}
