import { describe, expect, it } from 'vitest';
import { KnownSecrets } from '../../src/core/known-secrets.js';
import { Redactor } from '../../src/redact/redact.js';
import { StreamRedactor } from '../../src/redact/stream.js';
import { githubToken, rand } from './fixtures.js';

function streamThrough(redactor: Redactor, chunks: string[]): string {
  const s = new StreamRedactor(redactor, { destination: 'chat' });
  let out = '';
  for (const c of chunks) out += s.push(c);
  return out + s.end();
}

describe('streaming redaction', () => {
  const known = new KnownSecrets();
  const pw = `Zq-${rand(18)}`;
  known.set('db', pw);
  const redactor = new Redactor({ known, pii: ['email'], allowDomains: ['github.com'] });

  it('never lets a secret through, wherever the stream is split (every split point, two and three chunks)', () => {
    const token = githubToken();
    const pemBody = Buffer.from(rand(300))
      .toString('base64')
      .replace(/(.{64})/g, '$1\n');
    const pem = `-----BEGIN EC PRIVATE KEY-----\n${pemBody}\n-----END EC PRIVATE KEY-----`;
    const text = `Here is the token ${token} and the password ${pw}.\nMail jane@corp.test.\n${pem}\nbye ![x](https://evil.test/p.png?d=1)`;
    const whole = redactor.redact(text).redacted;
    for (let i = 1; i < text.length; i++) {
      const out = streamThrough(redactor, [text.slice(0, i), text.slice(i)]);
      expect(out, `split at ${i}`).not.toContain(token.slice(4, 20));
      expect(out).not.toContain(pw);
      expect(out).not.toContain(pemBody.slice(0, 40));
      expect(out).not.toContain('evil.test');
      expect(out).toBe(whole);
    }
    for (let i = 5; i < text.length; i += 7) {
      const j = Math.min(text.length - 1, i + 13);
      expect(streamThrough(redactor, [text.slice(0, i), text.slice(i, j), text.slice(j)])).toBe(whole);
    }
  });

  it('character-by-character streaming gives the same output as redacting the whole text', () => {
    const text = `export GITHUB_TOKEN=${githubToken()}\nDB_PASSWORD="${rand(24)}"\nok`;
    expect(streamThrough(redactor, [...text])).toBe(redactor.redact(text).redacted);
  });

  it('holds back only an unfinished token, and at most maxHold characters', () => {
    const s = new StreamRedactor(redactor, { maxHold: 1000 });
    expect(s.push('hello world ')).toBe('hello world ');
    expect(s.push('partial')).toBe('');
    expect(s.push(' done ')).toBe('partial done ');
    const long = 'a'.repeat(5000);
    expect(s.push(long).length).toBe(5000);
    expect(s.end()).toBe('');
  });
});
