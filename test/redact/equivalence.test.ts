import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeywordAutomaton } from '../../src/core/keywords.js';
import { findUrls, HOST_RE, urlHost } from '../../src/core/urls.js';

/**
 * The fast paths of the engine against the plain versions they replace, on generated text built from the
 * characters that matter to each (so the interesting cases are dense, not one in a million).
 */
const fromChars = (chars: string[], maxLength = 80): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...chars), { maxLength }).map((a) => a.join(''));

describe('keyword automaton', () => {
  const keywords = ['pass', 'password', 'sk_live_', 'ghp_', 'token', 'ken', 'xoxb-', 'aa', 'a'];
  const automaton = new KeywordAutomaton(keywords.map((k) => ({ keyword: k, owner: 't', allowWeak: true })));

  /** Every (keyword, start) by direct comparison, ASCII letters folded: what the automaton must report. */
  function naive(text: string): string[] {
    const fold = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c);
    const out: string[] = [];
    keywords.forEach((k, ki) => {
      for (let i = 0; i + k.length <= text.length; i++) {
        let ok = true;
        for (let j = 0; j < k.length && ok; j++) ok = fold(text.charCodeAt(i + j)) === k.charCodeAt(j);
        if (ok) out.push(`${ki}@${i}`);
      }
    });
    return out.sort();
  }
  const chars = [
    ...'pasSwordPASSk_liveghp_tokenxob-A',
    ' ',
    '\n',
    'é',
    '\u0130',
    '\ud83d',
    '\ude00',
    '\u00ff',
    '+',
    '/',
  ];

  it('reports exactly the occurrences indexOf finds, in any case and around non-ASCII code units', () => {
    fc.assert(
      fc.property(fromChars(chars, 120), (text) => {
        const got: string[] = [];
        automaton.scan(text, (k, s) => got.push(`${k}@${s}`));
        expect(got.sort()).toEqual(naive(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('reports the runs of 20+ base64/hex characters that a regex finds', () => {
    const runChars = [...'aZ09+/_-', ' ', '.', '=', '\u00e9', '\ud83d'];
    fc.assert(
      fc.property(fromChars(runChars, 200), (text) => {
        const runs: number[] = [];
        const hits: string[] = [];
        automaton.scanWithRuns(
          text,
          (k, s) => hits.push(`${k}@${s}`),
          20,
          (a, b) => runs.push(a, b),
        );
        const want: number[] = [];
        for (const m of text.matchAll(/[A-Za-z0-9+/_-]{20,}/g)) want.push(m.index, m.index + m[0].length);
        expect(runs).toEqual(want);
        expect(hits.sort()).toEqual(naive(text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('URL host parsing', () => {
  const chars = [...'ab1:@/?#[].-F', ' ', '\u00a0', '\u2028', '\t', '%'];
  it('urlHost captures what HOST_RE captures', () => {
    fc.assert(
      fc.property(fc.constantFrom('https', 'ftp', 'ws'), fromChars(chars, 60), (scheme, rest) => {
        const raw = `${scheme}://${rest}`;
        const want = HOST_RE.exec(raw)?.[1];
        expect(urlHost(raw, scheme.length + 3, raw.length)).toBe(want);
      }),
      { numRuns: 5000 },
    );
  });

  it('respects the 256-character user-info and 45-character bracket bounds', () => {
    for (const n of [255, 256, 257]) {
      const raw = `https://${'u'.repeat(n)}@host/x`;
      expect(urlHost(raw, 8, raw.length)).toBe(HOST_RE.exec(raw)?.[1]);
    }
    for (const n of [1, 2, 45, 46]) {
      const raw = `https://[${'a'.repeat(n)}]/x`;
      expect(urlHost(raw, 8, raw.length)).toBe(HOST_RE.exec(raw)?.[1]);
    }
  });
});

describe('character references in URLs', () => {
  const pieces = [
    'https://',
    'http',
    's',
    '://',
    '//',
    'a.test',
    '/p?q=1',
    ' ',
    '(',
    '"',
    '=',
    'x',
    '&amp;',
    '&lt;',
    '&gt;',
    '&quot;',
    '&#104;',
    '&#104',
    '&#x68;',
    '&colon;',
    '&sol;',
    '&#47;',
    '&#46;',
    '&#46',
    '&period;',
    '&#40;',
    '&lpar;',
    '&#39;',
    '&#32',
    '&',
    '#',
    ';',
  ];
  it('skipping the decode when no reference can start a URL changes no URL', () => {
    fc.assert(
      fc.property(fromChars(pieces, 30), (text) => {
        expect(findUrls(text)).toEqual(findUrls(text, true));
      }),
      { numRuns: 5000 },
    );
  });
});
