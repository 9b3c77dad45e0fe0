import { describe, expect, it } from 'vitest';
import { base64Cores, KnownSecrets } from '../../src/core/known-secrets.js';
import { PII_KINDS, Redactor } from '../../src/redact/redact.js';
import { githubToken, rand } from './fixtures.js';

describe('Redactor', () => {
  it('redacts secrets as [REDACTED:kind] and reports kind and offsets, never the value', () => {
    const token = githubToken();
    const text = `use ${token} now`;
    const r = new Redactor().redact(text);
    expect(r.redacted).toBe('use [REDACTED:github-pat] now');
    expect(r.findings).toEqual([
      expect.objectContaining({ kind: 'github-pat', category: 'secret', start: 4, end: 44 }),
    ]);
    expect(JSON.stringify(r.findings)).not.toContain(token.slice(4));
  });

  it('partial mode keeps the last 4; hmac mode correlates equal values without revealing them', () => {
    const a = githubToken();
    const b = githubToken();
    const partial = new Redactor({ mode: 'partial' }).redact(`x ${a}`).redacted;
    expect(partial).toBe(`x [REDACTED:github-pat:…${a.slice(-4)}]`);
    const key = Buffer.alloc(32, 7);
    const r = new Redactor({ mode: 'hmac', hmacKey: key });
    const ta = r.redact(a).redacted;
    expect(ta).toMatch(/^\[REDACTED:github-pat:[0-9a-f]{16}\]$/);
    expect(r.redact(`again ${a}`).redacted).toBe(`again ${ta}`);
    expect(r.redact(b).redacted).not.toBe(ta);
    expect(new Redactor({ mode: 'hmac', hmacKey: Buffer.alloc(32, 8) }).redact(a).redacted).not.toBe(ta);
  });

  it('PII is redacted per destination', () => {
    const r = new Redactor({ pii: ['email'], destinations: { tool_args: { pii: [...PII_KINDS] } } });
    const text =
      'Mail jane.doe@example.org, card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6788';
    expect(r.redact(text, { destination: 'chat' }).redacted).toBe(
      'Mail [REDACTED:email], card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6788',
    );
    expect(r.redact(text, { destination: 'tool_args' }).redacted).toBe(
      'Mail [REDACTED:email], card [REDACTED:credit_card], IBAN [REDACTED:iban], SSN [REDACTED:us_ssn]',
    );
  });

  it('checksum-invalid look-alikes are not PII', () => {
    // Phone numbers are validated by numbering plan, not checksum: a ten-digit group is a plausible phone.
    const r = new Redactor({ pii: PII_KINDS.filter((k) => k !== 'phone') });
    const text =
      'card 4111 1111 1111 1112, IBAN GB82 WEST 1234 5698 7654 33, SSN 000-12-3456, NHS 943 476 5918, id 12345678A';
    expect(r.scan(text, { destination: 'tool_args' })).toEqual([]);
  });

  it('national ids and phone numbers with their validators', () => {
    const r = new Redactor({ pii: [...PII_KINDS] });
    const cases: [string, string][] = [
      ['NHS number 943 476 5919', 'uk_nhs'],
      ['DNI 12345678Z', 'es_dni'],
      ['NIE X1234567L', 'es_dni'],
      ['CF RSSMRA85T10A562S', 'it_codice_fiscale'],
      ['PESEL 44051401359', 'pl_pesel'],
      ['call me at +1 415-555-0132', 'phone'],
      ['Tel: +44 20 7946 0958', 'phone'],
    ];
    for (const [text, kind] of cases)
      expect(
        r.scan(text, { destination: 'tool_args' }).map((f) => f.kind),
        text,
      ).toEqual([kind]);
  });

  it('generic tier: redacts in tool arguments, only warns in chat', () => {
    const r = new Redactor();
    const text = `api_key = "${rand(30)}"`;
    const args = r.redact(text, { destination: 'tool_args' });
    expect(args.redacted).toBe('api_key = "[REDACTED:generic-credential]"');
    const chat = r.redact(text, { destination: 'chat' });
    expect(chat.redacted).toBe(text);
    expect(chat.findings).toEqual([
      expect.objectContaining({ kind: 'generic-credential', action: 'warn', generic: true }),
    ]);
  });

  it('finds secrets hidden in base64, hex, percent and \\u encodings, and base64 of base64', () => {
    const token = githubToken();
    const r = new Redactor();
    const enc = [
      Buffer.from(`token: ${token}`).toString('base64'),
      Buffer.from(`token=${token}`).toString('hex'),
      [...`{"t":"${token}"}`].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
      [...`k=${token}`].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
      Buffer.from(Buffer.from(`secret ${token}`).toString('base64')).toString('base64'),
    ];
    for (const e of enc) {
      const f = r.scan(`payload ${e} end`);
      expect(f.length, e.slice(0, 30)).toBe(1);
      expect(f[0]).toMatchObject({ kind: 'github-pat', start: 8, end: 8 + e.length });
      expect(f[0]!.encoding).toBeDefined();
    }
  });

  it('known secrets match exactly in raw, base64 (any alignment), hex and URL-encoded form', () => {
    const value = `pw-${rand(20)}/+!`;
    const known = new KnownSecrets();
    known.set('db', value);
    const r = new Redactor({ known });
    const forms = [
      value,
      Buffer.from(value).toString('hex'),
      encodeURIComponent(value),
      Buffer.from(`x${value}`).toString('base64'),
      Buffer.from(`xy${value}`).toString('base64'),
      Buffer.from(`${value}`).toString('base64url'),
    ];
    for (const f of forms) {
      const res = r.redact(`send ${f} please`, { destination: 'tool_args' });
      expect(
        res.findings.map((x) => x.kind),
        f,
      ).toContain('known_secret');
      expect(res.redacted, f).not.toContain(value);
      expect(res.blocked).toBe(true);
    }
    expect(base64Cores(Buffer.from('abcdefghi'))).toHaveLength(3);
  });

  it('leaves ordinary text alone', () => {
    const text =
      'The build passed in 42s. See https://github.com/org/repo/pull/12 and commit 3f786850e387550fdab836ed7e6dc881de23001b.';
    expect(new Redactor({ pii: [...PII_KINDS], allowDomains: ['github.com'] }).redact(text).redacted).toBe(text);
  });
});
