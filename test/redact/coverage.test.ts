import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeywordAutomaton } from '../../src/core/keywords.js';
import { SecretEngine } from '../../src/redact/engine.js';
import { Redactor } from '../../src/redact/redact.js';
import { jwtCheck } from '../../src/redact/validators.js';
import { rand, UPPER_B32 } from './fixtures.js';

const engine = new SecretEngine();
const ids = (text: string): string[] => engine.scan(text).map((h) => h.ruleId);

/**
 * The head of a PKCS#12 file (RFC 7292 §4): SEQUENCE { INTEGER version, SEQUENCE { OID contentType, … } }
 * followed by `body` random bytes. Built here byte by byte, never taken from a real keystore.
 */
function pfx(version: number, contentType: number[], body: number): Buffer {
  const oid = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, ...contentType];
  const inner = [0x30, 0x82, 0x09, 0x35, ...oid, 0xa0, 0x82, 0x09, 0x26];
  return Buffer.concat([Buffer.from([0x30, 0x82, 0x09, 0x79, 0x02, 0x01, version, ...inner]), randomBytes(body)]);
}
const PKCS7_DATA = [0x01, 0x07, 0x01];

describe('PKCS#12 keystores dumped as text', () => {
  it('are found whether the bytes arrive as Latin-1 or through a lossy UTF-8 decode, and the blob is covered', () => {
    const bytes = pfx(3, PKCS7_DATA, 2000);
    for (const text of [
      bytes.toString('latin1'),
      bytes.toString('utf8'),
      bytes.toString('utf8').replace(/\r/g, '\n'),
    ]) {
      const hits = engine.scan(`$ cat key.p12\n${text}`).filter((h) => h.ruleId === 'pkcs12-keystore');
      expect(hits).toHaveLength(1);
      // Everything from the version field to the end of the binary body is one finding.
      expect(hits[0]!.end - hits[0]!.start).toBeGreaterThan(text.length * 0.9);
      expect(hits[0]!.verified).toBe(true);
    }
  });

  it('stops at text that follows the binary body', () => {
    const text = `${pfx(3, PKCS7_DATA, 500).toString('latin1')}\nThe file above is the keystore used in production.`;
    const hit = engine.scan(text).find((h) => h.ruleId === 'pkcs12-keystore');
    expect(hit).toBeDefined();
    expect(text.slice(hit!.end)).toContain('keystore used in production');
  });

  it('needs the PFX version and a PKCS#7 content type', () => {
    expect(ids(pfx(2, PKCS7_DATA, 300).toString('latin1'))).not.toContain('pkcs12-keystore');
    // Same structure, but a content type outside PKCS#7 (1.2.840.113549.1.9.x, a PKCS#9 attribute).
    expect(ids(pfx(3, [0x01, 0x09, 0x01], 300).toString('latin1'))).not.toContain('pkcs12-keystore');
    expect(ids(`version\x02\x01\x03 and some text ${rand(40)}`)).toEqual([]);
  });
});

describe('passwords in URLs', () => {
  it('a literal password in a web or file-transfer URL is a credential, weak ones included', () => {
    for (const pass of ['pass', 'secret1', rand(12)]) {
      const text = `fetch https://deploy:${pass}@files.internal.test/x`;
      expect(ids(text), text).toContain('basic-auth-url');
    }
    expect(ids(`ftp://backup:${rand(10)}@ftp.internal.test`)).toContain('basic-auth-url');
  });

  it('templates, fill-ins and a user name repeated as password are not', () => {
    for (const text of [
      'https://username:password@host.test/api',
      'https://user:mypassword@host.test',
      'https://YOUR_USERNAME:YOUR_PASSWORD@host.test',
      'https://u:REPLACE_WITH_PASSWORD@host.test',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal template under test
      'https://${user}:${pass}@host.test',
      'https://{{user}}:{{pass}}@host.test',
      'https://{USER}:{PASS}@host.test',
      'https://user:abc@host.test',
      'https://user:1111@host.test',
      'https://user:xxxx@host.test',
      'https://admin:admin@host.test',
      'https://host.test:8080/@scope/pkg',
    ])
      expect(ids(text), text).not.toContain('basic-auth-url');
  });
});

describe('documentation examples', () => {
  it('AWS key IDs built on the documentation example are not flagged; random ones are', () => {
    expect(ids(`AWS key: AKIAIOSFODNN7${rand(7, UPPER_B32)}`)).toEqual([]);
    expect(ids(`AWS key: AKIA${rand(16, UPPER_B32)}`)).toContain('aws-access-key-id');
  });

  it('a token marked as a dummy is not decoded and re-scanned', () => {
    const inner = Buffer.from(`{"secretKey":"AKIA${rand(16, UPPER_B32)}","note":"${rand(30)}"}`).toString('base64');
    const r = new Redactor();
    expect(r.scan(`token: tok_${inner}`).length).toBeGreaterThan(0);
    expect(r.scan(`token: tok_DUMMY${inner}`)).toEqual([]);
  });
});

describe('JWTs with a damaged header', () => {
  const b64u = (s: string) => Buffer.from(s).toString('base64url');
  const payload = b64u(`{"sub":"${rand(10)}","name":"${rand(8)}","iat":1700000000}`);

  it('still carry their claims: found, but not marked verified', () => {
    // An edited `alg` value that no longer decodes to a JSON string.
    const header = Buffer.concat([
      Buffer.from('{"alg":'),
      Buffer.from([0x27, 0x9e, 0x9e]),
      Buffer.from('","typ":"JWT"}'),
    ]).toString('base64url');
    const token = `${header}.${payload}`;
    expect(jwtCheck(token)).toBe('damaged');
    const hit = engine.scan(`JWT := ${token}`).find((h) => h.ruleId === 'jwt');
    expect(hit).toMatchObject({ verified: false });
  });

  it('need a payload that decodes to a JSON object', () => {
    const header = Buffer.concat([Buffer.from('{"alg":'), Buffer.from([0x9e]), Buffer.from('"}')]).toString(
      'base64url',
    );
    const junk = `eyJ${rand(40)}`;
    expect(jwtCheck(`${header}.${junk}`)).toBe(false);
    expect(ids(`${header}.${junk}.${rand(43)}`)).not.toContain('jwt');
    expect(jwtCheck(`${b64u('{"alg":"HS256"}')}.${payload}`)).toBe('valid');
  });
});

describe('generic tier: short values', () => {
  it('a short value mixing three character classes at near-maximal entropy is a credential', () => {
    const value = `${rand(4, 'abcdefghjkmnpqrstuvwxyz')}${rand(4, 'ABCDEFGHJKLMNPQRSTUVWXYZ')}^%${rand(2, '23456789')}`;
    expect(new Set(value).size).toBeGreaterThanOrEqual(10);
    const hits = engine.scan(`"API_TOKEN": "${value}"`);
    expect(hits.filter((h) => h.tier === 'generic')).toHaveLength(1);
  });

  it('short values with repeats or fewer classes are not', () => {
    expect(engine.scan('"API_TOKEN": "abab12abab12"')).toEqual([]);
    expect(engine.scan('"API_TOKEN": "abcdefghjkmn"')).toEqual([]);
  });
});

describe('keyword prefilter: binary tag bytes', () => {
  it('accepts ASCII control characters in keywords and still rejects non-ASCII', () => {
    const ac = new KeywordAutomaton([{ keyword: '\x02\x01\x03', owner: 't' }]);
    const hits: number[] = [];
    ac.scan('ab\x02\x01\x03cd', (_k, s) => hits.push(s));
    expect(hits).toEqual([2]);
    expect(() => new KeywordAutomaton([{ keyword: 'tök', owner: 't' }])).toThrow(/not ASCII/);
  });
});

describe('cheap gates keep every match', () => {
  it('URLs with user info are still confirmed after the authority pre-check, whatever the password holds', () => {
    const pass = `p(${rand(6)})!${rand(4)}`;
    expect(ids(`DATABASE_URL=postgres://app:${pass}@db.internal.test:5432/app`)).toContain(
      'database-connection-string',
    );
    expect(ids(`https://u:${rand(300 - 2)}@h.test`)).toEqual([]);
    expect(ids(`https://u:${rand(12)}@h.test and https://github.com/a/b`)).toContain('basic-auth-url');
  });

  it('a lookup command must start a word', () => {
    engine.scan('the mapping of shipping ports');
    expect(engine.sawLookup).toBe(false);
    engine.scan('run: ping -c1 example.test');
    expect(engine.sawLookup).toBe(true);
  });

  it('auto-loading contexts: images load, plain links and quoted URLs outside tags do not', () => {
    const r = new Redactor({ allowDomains: ['github.com'] });
    const kinds = (t: string) => r.scan(t, { destination: 'chat' }).map((f) => f.kind);
    expect(kinds('see [the docs](https://docs.other.test/x.png)')).toEqual([]);
    expect(kinds('say "https://docs.other.test/page" aloud')).toEqual([]);
    expect(kinds('![x](https://px.other.test/a.png)')).toEqual(['exfil_image']);
    expect(kinds('<img alt="a" src="https://px.other.test/a.png">')).toEqual(['exfil_image']);
    expect(kinds('<div style="background:url(   \'https://px.other.test/a.png\')">')).toEqual(['exfil_image']);
    expect(kinds('[![b](https://px.other.test/b.svg)](https://docs.other.test/)')).toEqual(['exfil_image']);
  });
});

describe('findings carried in URLs', () => {
  it('a finding in the data part blocks the URL; one in the user info, or outside the URL, does not', () => {
    const r = new Redactor({ allowDomains: ['github.com'] });
    const key = `AKIA${rand(16, UPPER_B32)}`;
    const noise = Array.from({ length: 50 }, () => `AKIA${rand(16, UPPER_B32)}`).join(' ');
    const carried = r.scan(`${noise} https://collector.test/c?k=${key} ${noise}`, { destination: 'tool_args' });
    expect(carried.filter((f) => f.kind === 'exfil_url')).toHaveLength(1);
    const userinfo = r.scan(`${noise} https://deploy:${rand(14)}@collector.test/c ${noise}`, {
      destination: 'tool_args',
    });
    expect(userinfo.some((f) => f.kind === 'exfil_url')).toBe(false);
    expect(userinfo.some((f) => f.kind === 'basic-auth-url')).toBe(true);
  });
});
