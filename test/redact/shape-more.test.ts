import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/redact/redact.js';
import { rand } from './fixtures.js';

// Every value is generated at run time from the format's documented shape: nothing is copied from a corpus.
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const CRYPT = `./${B62}`;
const r = new Redactor({ pii: [] });

function secretKinds(text: string): { kind: string; value: string }[] {
  return r
    .scan(text, { destination: 'tool_args' })
    .filter((f) => f.category === 'secret')
    .map((f) => ({ kind: f.kind, value: text.slice(f.start, f.end) }));
}

function expectFound(text: string, value: string, kind?: string): void {
  const hits = secretKinds(text);
  const hit = hits.find((h) => h.value.includes(value) || value.includes(h.value));
  expect(hit, `${text}\n→ ${JSON.stringify(hits)}`).toBeDefined();
  if (kind) expect(hit?.kind).toBe(kind);
  expect(r.redact(text, { destination: 'tool_args' }).redacted).not.toContain(value);
}

/** A password-like value: letters and digits mixed, so it clears the generic tier's class and entropy checks. */
function password(): string {
  return `${rand(4, 'ABCDEFGHJKLMNPQRSTUVWXYZ')}${rand(3, '23456789')}${rand(4, 'abcdefghijkmnopqrstuvwxyz')}`;
}

describe('.netrc entries', () => {
  it('one line and several lines', () => {
    const p1 = password();
    expectFound(`machine git.corp.test login deploy password ${p1}`, p1, 'netrc-password');
    const p2 = password();
    expectFound(`machine api.vendor.test\n  login svc-bot\n  password ${p2}\n`, p2, 'netrc-password');
  });

  it('prose with the same words, and placeholders, are not entries', () => {
    for (const t of [
      'machine learning login flow password reset',
      'the build machine runs login checks; password rotation is monthly',
      'machine api.corp.test login deploy password changeme',
      'machine api.corp.test login deploy password $NETRC_PASSWORD',
    ])
      expect(secretKinds(t), t).toEqual([]);
  });
});

describe('a password stated in prose', () => {
  it('"the password is \'…\'" with a quoted value', () => {
    const p = password();
    expectFound(`Log in as admin; the password is '${p}' until the first rotation.`, p, 'generic-credential');
    const q = password();
    expectFound(`The default password is "${q}"`, q, 'generic-credential');
  });

  it('sentences about passwords are not credentials', () => {
    for (const t of [
      'the password is required',
      'Your password is "too short"',
      'the password is stored hashed, never in clear',
      "the password is '<your password>'",
    ])
      expect(secretKinds(t), t).toEqual([]);
  });
});

describe('values quoted inside another string', () => {
  it('an escaped-quote assignment in a JSON string or a log line', () => {
    const p = password();
    expectFound(`{"source": "$db_password = \\"${p}\\";"}`, p, 'generic-credential');
    const t = `${rand(24, B62)}`;
    expectFound(`log: "config api_token=\\"${t}\\" loaded"`, t, 'generic-credential');
  });

  it('escaped references and placeholders are not values', () => {
    for (const t of [
      '{"source": "$db_password = \\"$PASSWORD\\";"}',
      '{"source": "$db_password = \\"changeme\\";"}',
      '{"source": "$db_password = \\"\\";"}',
    ])
      expect(secretKinds(t), t).toEqual([]);
  });
});

describe('label strings that mention a credential name', () => {
  it('a "Password:" label followed by other labels is no assignment', () => {
    for (const t of [
      'usernameLabel:"Username or email:",passwordLabel:"Password:",rememberMeLabel:"Remember me:"',
      "labels = { user: 'User name:', pass: 'Password:', hint: 'Forgot your password?' }",
    ])
      expect(secretKinds(t), t).toEqual([]);
  });

  it('a quoted name with a value is still found', () => {
    const p = password();
    expectFound(`{"password":"${p}","user":"svc"}`, p);
  });
});

describe('Cisco IOS type 8 and type 9 password hashes', () => {
  it('$8$ (PBKDF2-SHA256) and $9$ (scrypt)', () => {
    const h8 = `$8$${rand(14, CRYPT)}$${rand(43, CRYPT)}`;
    expectFound(`username admin privilege 15 secret 8 ${h8}`, h8, 'crypt-hash');
    const h9 = `$9$${rand(14, CRYPT)}$${rand(43, CRYPT)}`;
    expectFound(`enable secret 9 ${h9}`, h9, 'crypt-hash');
  });

  it('wrong salt or hash lengths are not hashes', () => {
    for (const t of [
      `$8$${rand(10, CRYPT)}$${rand(43, CRYPT)}`,
      `$9$${rand(14, CRYPT)}$${rand(20, CRYPT)}`,
      'price $8$ per seat',
    ])
      expect(secretKinds(t), t).toEqual([]);
  });
});

describe('registry tokens glued to a reference', () => {
  it('a PyPI token after `secrets.` in a CI file', () => {
    const tok = `pypi-AgEIcHlwaS5vcmc${rand(120, `${B62}_-`)}`;
    expectFound(`password: \${{ secrets.${tok} }}`, tok, 'pypi-upload-token');
  });

  it('the bare prefix or a short body is not a token', () => {
    for (const t of ['see pypi-AgEIcHlwaS5vcmc in the docs', `x.pypi-AgEIcHlwaS5vcmc${rand(20, B62)}`])
      expect(secretKinds(t), t).toEqual([]);
  });
});

describe('credential objects built from literals in code', () => {
  it('.NET NetworkCredential, Java PasswordAuthentication, HttpClient UsernamePasswordCredentials', () => {
    const p1 = password();
    expectFound(`client.Credentials = new System.Net.NetworkCredential("svc-build", "${p1}");`, p1);
    const p2 = password();
    expectFound(`return new PasswordAuthentication("mailer", "${p2}".toCharArray());`, p2);
    const p3 = password();
    expectFound(`new UsernamePasswordCredentials("api", "${p3}")`, p3);
  });

  it('variables, placeholders and one-argument forms are not literals', () => {
    for (const t of [
      'new NetworkCredential(user, password);',
      'new NetworkCredential("svc-build", "changeme");',
      'new NetworkCredential("svc-build", "%BUILD_PASSWORD%");',
      'var c = CredentialCache.DefaultNetworkCredentials;',
      'new PasswordAuthentication(username, pass.toCharArray())',
    ])
      expect(secretKinds(t), t).toEqual([]);
  });
});
