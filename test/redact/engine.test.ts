import { describe, expect, it } from 'vitest';
import { isWeakKeyword, KeywordAutomaton, WeakKeywordError } from '../../src/core/keywords.js';
import { minMatchLength } from '../../src/redact/compiled-rule.js';
import { SecretEngine } from '../../src/redact/engine.js';
import { RULES_VERSION, SECRET_RULES } from '../../src/redact/rules/secrets.js';
import { githubToken, rand, sampleSecrets } from './fixtures.js';

const engine = new SecretEngine();

describe('keyword prefilter', () => {
  it('finds overlapping keywords case-insensitively, with their start offsets', () => {
    const ac = new KeywordAutomaton([
      { keyword: 'ghp_', owner: 't' },
      { keyword: 'hp_x', owner: 't' },
      { keyword: 'xoxb-', owner: 't' },
    ]);
    const hits: [number, number][] = [];
    ac.scan('a GHP_xoxb-', (k, s) => hits.push([k, s]));
    expect(hits).toEqual([
      [0, 2],
      [1, 3],
      [2, 6],
    ]);
  });

  it('rejects weak keywords when the table is built', () => {
    for (const w of ['sk', 'ey', 's.', 'pat.']) expect(isWeakKeyword(w)).toBe(true);
    expect(isWeakKeyword('ghp_')).toBe(false);
    expect(() => new KeywordAutomaton([{ keyword: 'ey', owner: 'jwt' }])).toThrow(WeakKeywordError);
    expect(
      () =>
        new SecretEngine([
          { id: 'weak', category: 'auth', keywords: ['s.'], mode: 'prefix', pattern: 's\\.[a-z]{24}', maxLen: 26 },
        ]),
    ).toThrow(/too weak/);
  });

  it('refuses rules that are not linear-time', () => {
    expect(
      () =>
        new SecretEngine([
          { id: 'bad', category: 'auth', keywords: ['abcd'], mode: 'prefix', pattern: 'abcd(?=x)', maxLen: 5 },
        ]),
    ).toThrow(/linear-time/);
  });
});

describe('rule table', () => {
  it('is versioned and covers at least 120 credential formats with unique ids and strong keywords', () => {
    expect(RULES_VERSION).toMatch(/^\d{4}\.\d{1,2}\.\d+$/);
    expect(SECRET_RULES.length).toBeGreaterThanOrEqual(120);
    expect(new Set(SECRET_RULES.map((r) => r.id)).size).toBe(SECRET_RULES.length);
    for (const r of SECRET_RULES)
      for (const k of r.keywords) expect(isWeakKeyword(k.toLowerCase()), `${r.id}: ${k}`).toBe(false);
    const categories = new Set(SECRET_RULES.map((r) => r.category));
    for (const c of ['cloud', 'vcs', 'ci', 'chat', 'payment', 'ai', 'database', 'private_key', 'auth'])
      expect(categories.has(c as never)).toBe(true);
    expect(engine.stats().rules).toBe(SECRET_RULES.length);
  });

  it('detects a generated sample of each documented format, at its exact offsets', () => {
    for (const [rule, secret] of Object.entries(sampleSecrets())) {
      const text = `config:\n  value: "${secret}"\n`;
      const hits = engine.scan(text);
      const hit = hits.find((h) => h.start === text.indexOf(secret) && h.end === text.indexOf(secret) + secret.length);
      expect(hit, `${rule} ${JSON.stringify(hits)}`).toBeDefined();
    }
  });

  it('marks checksum-valid GitHub tokens verified and still redacts checksum-invalid ones', () => {
    const good = githubToken();
    const bad = `ghp_${rand(36)}`;
    const [g] = engine.scan(`t=${good}`);
    const [b] = engine.scan(`t=${bad}`);
    expect(g).toMatchObject({ ruleId: 'github-pat', verified: true });
    expect(b).toMatchObject({ ruleId: 'github-pat', verified: false });
  });

  it('ignores placeholders and examples', () => {
    for (const t of [
      'AKIAIOSFODNN7EXAMPLE',
      'ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal placeholder under test
      'sk_live_${STRIPE_KEY}',
      'api_key = "<your-api-key>"',
      'password = "changeme"',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal placeholder under test
      'password: ${DB_PASSWORD}',
      'postgres://user:password@localhost:5432/db',
    ])
      expect(engine.scan(t), t).toEqual([]);
  });

  it('does not fire on hashes, UUIDs and integrity strings', () => {
    const text = [
      'commit 3f786850e387550fdab836ed7e6dc881de23001b',
      'id: 123e4567-e89b-12d3-a456-426614174000',
      'integrity sha512-' + Buffer.from(rand(64)).toString('base64'),
      'sha256: ' + rand(64, '0123456789abcdef'),
    ].join('\n');
    expect(engine.scan(text)).toEqual([]);
  });

  it('private keys: a real-looking PEM block is found, a placeholder body is not', () => {
    const body = Buffer.from(rand(600))
      .toString('base64')
      .replace(/(.{64})/g, '$1\n');
    const pem = `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`;
    expect(engine.scan(`key:\n${pem}\n`).map((h) => h.ruleId)).toContain('private-key');
    expect(engine.scan('-----BEGIN PRIVATE KEY-----\n...\nxxxxxxxx\n-----END PRIVATE KEY-----')).toEqual([]);
  });

  it('JWTs need a header that decodes to JSON with alg', () => {
    const h = Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url');
    const p = Buffer.from(`{"sub":"${rand(12)}","iat":1700000000}`).toString('base64url');
    const jwt = `${h}.${p}.${rand(43, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-')}`;
    expect(engine.scan(`Authorization: ${jwt}`).some((x) => x.ruleId === 'jwt' && x.verified)).toBe(true);
    const noAlg = Buffer.from('{"typ":"JWT","kid":"abcdef"}').toString('base64url');
    expect(engine.scan(`${noAlg}.${p}.${rand(43)}`).some((x) => x.ruleId === 'jwt')).toBe(false);
  });

  it('generic tier: credential-named assignments with high-entropy values, not references or prose', () => {
    const secret = rand(28);
    const hits = engine.scan(`DB_PASSWORD="${secret}"\nclient_secret: ${rand(32)}\n`);
    expect(hits.filter((h) => h.tier === 'generic')).toHaveLength(2);
    expect(
      engine.scan(
        'password = os.environ["DB_PASSWORD"]\ntoken = getToken()\nmax_tokens: 4096\nsecret_name = "prod-db"\n',
      ),
    ).toEqual([]);
    expect(engine.scan('The password policy requires twelve characters.')).toEqual([]);
  });
});

describe('match-length bound', () => {
  it('never overestimates: every generated sample is at least as long as its bound', () => {
    expect(minMatchLength('[a-z0-9]{25}')).toBe(25);
    expect(minMatchLength('[0-9]{15,25}-[a-zA-Z0-9]{20,40}')).toBe(36);
    expect(minMatchLength('(?:sq[pau]_)?[a-z0-9=_-]{40}')).toBe(40);
    expect(minMatchLength('a|bcd')).toBe(0);
    expect(minMatchLength('x\\[y]?z+')).toBe(4);
    for (const r of SECRET_RULES) {
      const sample = sampleSecrets()[r.id];
      if (sample && r.mode === 'prefix')
        expect(sample.length, r.id).toBeGreaterThanOrEqual(minMatchLength(r.pattern.replace(/^\(\?i\)/, '')));
    }
  });
});
