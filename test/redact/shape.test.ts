import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/redact/redact.js';
import { HEXL, rand } from './fixtures.js';

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
  // The credential never survives redaction.
  expect(r.redact(text, { destination: 'tool_args' }).redacted).not.toContain(value);
}

function uuid(): string {
  return `${rand(8, HEXL)}-${rand(4, HEXL)}-4${rand(3, HEXL)}-a${rand(3, HEXL)}-${rand(12, HEXL)}`;
}

describe('a provider name followed by a bare token, no assignment', () => {
  it('in prose, after other words, before a full stop', () => {
    const dd = rand(32, HEXL);
    expectFound(`The Datadog API key is ${dd}.`, dd, 'datadog-access-token');
    const tw = rand(32, HEXL);
    expectFound(`twilio auth ${tw}`, tw, 'twilio-auth-token');
    const h = uuid();
    expectFound(`heroku token ${h}`, h, 'heroku-api-key');
    const a0 = rand(64, `${B62}_-`);
    expectFound(`auth0 clientSecret ${a0}`, a0, 'auth0-client-secret-near');
  });

  it('as a call argument in code', () => {
    const dd = rand(32, HEXL);
    expectFound(`client = Datadog.new(api: "${dd}")`, dd);
    const sb = rand(40, HEXL);
    expectFound(`new SendbirdClient(appId, '${sb}')`, sb, 'sendbird-access-token');
  });

  it('words, ids and hashes near a provider name are not tokens', () => {
    for (const t of [
      'The datadog integration was updated in the last release.',
      `bump heroku buildpack to version 12 (build 20261207)`,
      `datadog dashboard ${'a'.repeat(32)}`,
      `twilio ${'0123456789abcdef'.repeat(2)} is the sample from the docs`,
      'Sendbird docs: https://sendbird.com/docs/chat/platform-api',
    ]) {
      expect(secretKinds(t), t).toEqual([]);
    }
  });

  it('stays bounded: the value must come within a few tokens of the name', () => {
    const dd = rand(32, HEXL);
    const far = `datadog ${'word '.repeat(12)}${dd}`;
    expect(secretKinds(far).filter((h) => h.kind === 'datadog-access-token')).toEqual([]);
  });
});

describe('values in multi-line config, JSON and code', () => {
  it('YAML with the vendor on one line and the key on the next', () => {
    const dd = rand(32, HEXL);
    expectFound(`datadog:\n  site: us5\n  api_key: ${dd}\n`, dd);
  });

  it('nested JSON objects', () => {
    const h = uuid();
    expectFound(`{\n  "heroku": {\n    "key": "${h}"\n  }\n}`, h, 'heroku-api-key');
  });

  it('INI sections and .env files', () => {
    const pw = rand(14, B62);
    expectFound(`[smtp]\nuser = bot\npassword = ${pw}\n`, pw);
    const sg = `SG.${rand(22, B62)}.${rand(43, B62)}`;
    expectFound(`APP=web\nSENDGRID=${sg}\nDEBUG=0`, sg, 'sendgrid-api-token');
  });
});

describe('formats with no rule before', () => {
  it('password hashes: bcrypt, argon2, md5/sha256/sha512-crypt', () => {
    const bc = `$2b$12$${rand(53, CRYPT)}`;
    expectFound(`admin:${bc}`, bc, 'bcrypt-hash');
    const ar = `$argon2id$v=19$m=65536,t=3,p=4$${rand(22, B62)}$${rand(43, B62)}`;
    expectFound(`{"hash":"${ar}"}`, ar, 'argon2-hash');
    const s6 = `$6$${rand(16, CRYPT)}$${rand(86, CRYPT)}`;
    expectFound(`root:${s6}:19000:0:99999:7:::`, s6, 'crypt-hash');
    const s5 = `$5$rounds=5000$${rand(12, CRYPT)}$${rand(43, CRYPT)}`;
    expectFound(`u:${s5}:`, s5, 'crypt-hash');
    const m1 = `$1$${rand(8, CRYPT)}$${rand(22, CRYPT)}`;
    expectFound(`u:${m1}:`, m1, 'crypt-hash');
  });

  it('PsExec -p with and without quotes', () => {
    const pw = `${rand(10, B62)}!`;
    expectFound(`psexec \\\\10.0.0.5 -u CORP\\admin -p ${pw} cmd.exe`, pw, 'psexec-password');
    const q = rand(12, B62);
    expectFound(`PsExec64.exe \\\\host -u admin -p "${q}" -s cmd`, q, 'psexec-password');
    expect(secretKinds('psexec \\\\host -u admin -p $PASSWORD cmd')).toEqual([]);
  });

  it('ODBC, ADO and JDBC connection strings, password first or last', () => {
    const a = rand(12, B62);
    expectFound(`Driver={ODBC Driver 18};Server=tcp:db.corp.net,1433;Uid=sa;Pwd=${a};`, a);
    const b = rand(12, B62);
    expectFound(`Password=${b};User ID=app;Data Source=db01;Initial Catalog=x`, b);
    const c = rand(12, B62);
    expectFound(`jdbc:mysql://db.corp.net:3306/app?user=app&password=${c}`, c, 'jdbc-password');
    const d = rand(10, B62);
    expectFound(`jdbc:oracle:thin:scott/${d}@db.corp.net:1521:ORCL`, d, 'jdbc-oracle-password');
    expect(secretKinds(['Server=db;User ID=app;Password=$', '{DB_PASSWORD};'].join(''))).toEqual([]);
  });

  it('Discord bot tokens: no prefix, found from the base64 id part', () => {
    const id = Buffer.from(`1${rand(17, '0123456789')}`).toString('base64url');
    const tok = `${id}.${rand(6, `${B62}_-`)}.${rand(38, `${B62}_-`)}`;
    expectFound(`bot.login("${tok}")`, tok, 'discord-bot-token-bare');
    expect(secretKinds(`import "./${rand(24, B62)}.${rand(6, B62)}.js"`)).toEqual([]);
  });

  it('crates.io and other registry tokens', () => {
    const cio = `cio${rand(32, B62)}`;
    expectFound(`token = "${cio}"`, cio, 'crates-io-api-token');
    const gem = `rubygems_${rand(48, HEXL)}`;
    expectFound(gem, gem, 'rubygems-api-token');
    // `cio` inside a word starts no token.
    expect(secretKinds(`precio${rand(32, B62)}`).filter((h) => h.kind === 'crates-io-api-token')).toEqual([]);
  });
});

describe('real credentials in an unexpected format are not declined', () => {
  it('Auth0 and Azure client secrets however they are assigned', () => {
    const a0 = rand(64, `${B62}_-`);
    expectFound(`auth0:\n  client_secret: "${a0}"`, a0);
    const az = `${rand(3, B62)}8Q~${rand(34, B62)}`;
    expectFound(`AZURE_CLIENT_SECRET=${az}`, az);
  });

  it('legacy UUID npm tokens and MongoDB URIs with a password', () => {
    const u = uuid();
    expectFound(`//registry.npmjs.org/:_authToken=${u}`, u);
    const pw = rand(12, B62);
    expectFound(`mongodb+srv://app:${pw}@cluster0.ab1cd.mongodb.net/?retryWrites=true&w=majority`, pw);
    const pw2 = rand(12, B62);
    expectFound(`mongodb://admin:${pw2}@10.0.0.1:27017,10.0.0.2:27017/db?replicaSet=rs0`, pw2);
  });
});
