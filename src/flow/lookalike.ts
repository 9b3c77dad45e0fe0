import { domainToUnicode } from 'node:url';

/**
 * Look-alike destinations: an address or host that is not a known one but reads like it (one or two edits
 * away, or the same once confusable characters are mapped: Cyrillic а, digit 0 for o, rn for m). Punycode
 * labels (`xn--…`) are decoded first, so `xn--pple-43d.com` is compared as the `аpple.com` it displays as.
 */
const CONFUSABLE: Record<string, string> = {
  а: 'a',
  е: 'e',
  о: 'o',
  р: 'p',
  с: 'c',
  х: 'x',
  у: 'y',
  і: 'i',
  ј: 'j',
  ԁ: 'd',
  ѕ: 's',
  ӏ: 'l',
  ⅼ: 'l',
  ɡ: 'g',
  ո: 'n',
  ս: 'u',
  α: 'a',
  ο: 'o',
  ν: 'v',
  ρ: 'p',
  τ: 't',
  '0': 'o',
  '1': 'l',
  '3': 'e',
  '5': 's',
  '|': 'l',
  í: 'i',
  ì: 'i',
  é: 'e',
  è: 'e',
  á: 'a',
  à: 'a',
  ó: 'o',
  ò: 'o',
  ú: 'u',
  ù: 'u',
};

/** The confusable skeleton of a value: what a human reading it quickly would take it for. */
export function skeleton(v: string): string {
  let out = '';
  for (const ch of v.normalize('NFKC').toLowerCase()) out += CONFUSABLE[ch] ?? ch;
  return out.replaceAll('rn', 'm').replaceAll('vv', 'w').replaceAll('i', 'l');
}

/** Levenshtein distance, stopping once it exceeds `max` (O(n·max) with the band). */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

const PUNYCODE_LABEL = /(?:^|\.)xn--/i;

/**
 * A host, or an address's domain, as it displays: `xn--` labels decoded (IDNA, node:url). Lower-cased when
 * it holds punycode; left as it is when it holds none or does not decode.
 */
export function displayForm(v: string): string {
  const at = v.lastIndexOf('@');
  const domain = at < 0 ? v : v.slice(at + 1);
  if (!PUNYCODE_LABEL.test(domain)) return v;
  const shown = domainToUnicode(domain.toLowerCase());
  if (shown === '') return v;
  return at < 0 ? shown : `${v.slice(0, at)}@${shown}`;
}

/** The known value `value` imitates, if any (compared as both display). Short values need an exact skeleton match: two edits make anything. */
export function imitates(value: string, known: Iterable<string>): string | undefined {
  if (value.length > 256) return undefined;
  const v = displayForm(value);
  const sv = skeleton(v);
  for (const entry of known) {
    if (entry === value || entry.length > 256) continue;
    // The same destination spelt as punycode or as Unicode is that destination, not a look-alike of it.
    const k = displayForm(entry);
    if (k === v) continue;
    if (skeleton(k) === sv) return entry;
    const [vl, vd] = split(v);
    const [kl, kd] = split(k);
    // Same mailbox at a domain a letter or two off, or a host a letter or two off.
    const max = kd.length >= 8 ? 2 : kd.length >= 5 ? 1 : 0;
    if (max > 0 && vl === kl && vd !== kd && editDistance(vd, kd, max) <= max) return entry;
  }
  return undefined;
}

function split(v: string): [string, string] {
  const at = v.lastIndexOf('@');
  return at < 0 ? ['', v] : [v.slice(0, at), v.slice(at + 1)];
}
