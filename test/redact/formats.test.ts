import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/redact/redact.js';
import { HEXL, rand } from './fixtures.js';

// Formats added from the vendors' documented shapes (JFrog, Twilio, npm); every value is generated at run time.
const r = new Redactor({ pii: [] });

function kinds(text: string): string[] {
  return r
    .scan(text, { destination: 'tool_args' })
    .filter((f) => f.category === 'secret')
    .map((f) => f.kind);
}

/** A random alphanumeric body that certainly mixes letters and digits. */
function mixed(n: number): string {
  return `${rand(n - 2)}7q`;
}

describe('JFrog Artifactory credentials', () => {
  it('finds API keys starting AKC of any plausible length, bare or in a header', () => {
    for (const n of [13, 40, 70, 120]) {
      const key = `AKC${mixed(n)}`;
      expect(kinds(`X-JFrog-Art-Api: ${key}`).some((k) => k === 'artifactory-api-key' || k === 'jfrog-api-key')).toBe(
        true,
      );
      expect(kinds(`key ${key}`)).toContain('artifactory-api-key');
      expect(kinds(`curl -H "Authorization: Bearer ${key}"`).length).toBeGreaterThan(0);
      expect(kinds(`password=${key}`).length).toBeGreaterThan(0);
    }
  });

  it('finds encrypted passwords (AP + hex digit) next to an Artifactory or JFrog name', () => {
    const pw = `AP${'3BCF'[Math.floor(Math.random() * 4)]}${mixed(60)}`;
    expect(kinds(`artifactory_password: ${pw}`)).toContain('artifactory-encrypted-password');
    expect(kinds(`JFROG_PASS="${pw}"`)).toContain('artifactory-encrypted-password');
    expect(kinds(`jfrog rt config --url https://x.jfrog.io --user ci --password ${pw}`)).toContain(
      'artifactory-encrypted-password',
    );
  });

  it('leaves fill-ins, words and AP values with no JFrog context alone', () => {
    expect(kinds('X-JFrog-Art-Api: AKCxxxxxxxxxxxxxxxxxxxx')).toEqual([]);
    expect(kinds('the AKCHEMICALPLANTREPORT was filed')).toEqual([]);
    expect(kinds(`build ${`AP3${mixed(40)}`} finished`)).not.toContain('artifactory-encrypted-password');
    expect(kinds('artifactory_password: APPLICATION')).toEqual([]);
  });
});

describe('Twilio identifiers', () => {
  it('finds AC account and SK key SIDs bare, quoted and in an API path', () => {
    const ac = `AC${rand(32, HEXL)}`;
    const sk = `SK${rand(32, HEXL)}`;
    expect(kinds(`account ${ac}`)).toContain('twilio-sid');
    expect(kinds(`{"sid": "${sk}"}`)).toContain('twilio-sid');
    // In a URL the finding also blocks the URL (exfil); the engine's own hit names the format.
    const url = `GET https://api.twilio.com/2010-04-01/Accounts/${ac}/Messages.json`;
    expect(r.engine.scan(url).map((h) => h.ruleId)).toContain('twilio-sid');
  });

  it('leaves fill-ins, longer hex words and other prefixes alone', () => {
    expect(kinds(`ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`)).toEqual([]);
    expect(kinds(`AC${rand(40, HEXL)}`)).toEqual([]);
    expect(kinds(`XAC${rand(32, HEXL)}`)).toEqual([]);
    expect(kinds(`AC${'0'.repeat(32)}`)).toEqual([]);
  });
});

describe('.npmrc credentials', () => {
  it('finds _auth (base64 of user:password) and _password (base64 of the password)', () => {
    const auth = Buffer.from(`ci-bot:${rand(20)}`).toString('base64');
    const pass = Buffer.from(rand(18)).toString('base64');
    expect(kinds(`//registry.example.test/:_auth=${auth}`)).toContain('npmrc-auth');
    expect(kinds(`_auth = "${auth}"`)).toContain('npmrc-auth');
    expect(kinds(`//npm.pkg.example.test/:_password=${pass}`)).toContain('npmrc-auth');
  });

  it('leaves templates, non-text and placeholder passwords alone', () => {
    expect(kinds(`//registry.example.test/:_auth=\${NPM_AUTH}`)).toEqual([]);
    expect(kinds(`_auth=${Buffer.from('user:password').toString('base64')}`)).toEqual([]);
    expect(
      kinds(`_auth=${Buffer.from([0x01, 0x02, 0xff, 0xfe, 0x80, 0x81, 0x90, 0x91, 0x92]).toString('base64')}`),
    ).toEqual([]);
    expect(kinds(`_password=${Buffer.from('changeme').toString('base64')}`)).toEqual([]);
  });
});

describe('prefix-run rules stay linear', () => {
  it('handle a megabyte of slash-separated AC/SK parts quickly', () => {
    const text = `/AC${'a'.repeat(31)}`.repeat(30_000);
    const t0 = performance.now();
    r.scan(text, { destination: 'tool_args' });
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});
