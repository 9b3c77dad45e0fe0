/** The span a URL user-info pattern may examine, so dense URLs stay on the per-hit path. */

/**
 * For a URL starting at `at`: the length from `at` to the end of the host after an `@` in its authority, or -1
 * when the authority (up to the first `/`, space or quote) has no `@`. Only characters that no user-info pattern
 * admits end the scans, so no match is dropped; they stop at the next URL's `//` at the latest, so all anchors
 * together stay linear.
 */
export function userinfoSpan(text: string, at: number): number {
  let sep = at;
  while (sep < at + 16 && sep < text.length && text.charCodeAt(sep) !== 58) sep++;
  if (text.charCodeAt(sep + 1) !== 47 || text.charCodeAt(sep + 2) !== 47) return -1;
  let i = sep + 3;
  for (; ; i++) {
    if (i >= text.length || i - sep > 304) return -1;
    const c = text.charCodeAt(i);
    if (c === 64) break;
    if (c === 47 || c <= 32 || c === 34 || c === 39) return -1;
  }
  const host = i + 1;
  let j = host;
  while (j < text.length && j - host < 254) {
    const c = text.charCodeAt(j);
    if (c === 47 || c <= 32 || c === 34 || c === 39 || c === 63 || c === 58) break;
    j++;
  }
  return j - at + 1;
}
