import RE2 from 're2';
import { foldText, LiteralGate } from './prefilter.js';

// Each pattern is RE2 (linear time) with bounded captures, so hostile markup cannot make extraction slow.
const CHANNELS: readonly RE2[] = [
  new RE2('<!--([\\s\\S]{1,}?)-->', 'g'),
  new RE2(
    '\\b(?:alt|title|aria-label|aria-description|data-[\\w-]{1,40}|content|placeholder)\\s*=\\s*"([^"]{8,})"',
    'gi',
  ),
  new RE2(
    "\\b(?:alt|title|aria-label|aria-description|data-[\\w-]{1,40}|content|placeholder)\\s*=\\s*'([^']{8,})'",
    'gi',
  ),
  new RE2(
    '<[a-z][a-z0-9]{0,10}\\b[^>]{0,500}style\\s*=\\s*["\'][^"\'>]{0,500}(?:display\\s*:\\s*none|visibility\\s*:\\s*hidden|font-size\\s*:\\s*0|opacity\\s*:\\s*0(?:\\.0+)?\\s*(?:;|["\'])|color\\s*:\\s*(?:white|#fff(?:fff)?|transparent)|height\\s*:\\s*0|width\\s*:\\s*0|left\\s*:\\s*-\\d{3,})[^>]{0,500}>([^<]{1,})',
    'gi',
  ),
  new RE2('<[a-z][a-z0-9]{0,10}\\b[^>]{0,500}\\bhidden\\b[^>]{0,200}>([^<]{1,})', 'gi'),
  new RE2('\\]\\([^)\\s]{0,}\\s+"([^"\\n]{1,1000})"\\)', 'g'),
  new RE2('(?m)^\\s{0,3}\\[[^\\]\\n]{1,200}\\]:\\s*\\S{1,}\\s+["\'(]([^"\'\\n)]{1,1000})["\')]', 'g'),
  new RE2('!\\[([^\\]\\n]{8,1000})\\]\\(', 'g'),
];

// Most text has none of the literals a channel needs (comment markers, attribute names): skip those passes.
const GATES = CHANNELS.map((re) => new LiteralGate(re.source));

/**
 * Text an agent sees but a human reviewing the rendered page usually does not: HTML comments,
 * alt/title/aria attributes, elements hidden by CSS, markdown link titles and image alt text.
 * Returns the extracted pieces, capped in number.
 */
export function extractHiddenChannels(text: string, maxPieces = 256): string[] {
  const out: string[] = [];
  if (!/[<\]=]/.test(text)) return out;
  const folded = foldText(text);
  for (const [k, re] of CHANNELS.entries()) {
    if (!GATES[k]!.mayMatch(folded)) continue;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const piece = m[1]?.trim().slice(0, 8000);
      if (piece) out.push(piece);
      if (out.length >= maxPieces) return out;
    }
  }
  return out;
}
