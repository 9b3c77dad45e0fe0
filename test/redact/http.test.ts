import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '../../src/gatehouse.js';
import { buildServer } from '../../src/server/app.js';
import { tempDir } from '../helpers/tmp.js';
import { githubToken } from './fixtures.js';

let gh: Gatehouse;
let app: FastifyInstance;
let cleanup: () => void;
let token: string;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  gh = await Gatehouse.open({
    config: { version: 1, redaction: { pii: ['email'], allow_domains: ['github.com'] } },
    data: t.dir,
  });
  await gh.identity.register({ id: 'writer', generateKey: 'Ed25519' }, 'host');
  token = (await gh.identity.issueToken('writer', { actor: 'host' })).access_token;
  app = await buildServer(gh);
});
afterAll(async () => {
  await app.close();
  await gh.close();
  cleanup();
});

describe('POST /v1/redact', () => {
  it('needs a valid token', async () => {
    const none = await app.inject({ method: 'POST', url: '/v1/redact', payload: { text: 'x' } });
    expect(none.statusCode).toBe(401);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/redact',
      payload: { text: 'x' },
      headers: { authorization: 'Bearer not.a.token' },
    });
    expect(bad.statusCode).toBe(401);
  });

  it('returns {redacted, findings, blocked}; findings carry kind and offsets only', async () => {
    const secret = githubToken();
    const r = await app.inject({
      method: 'POST',
      url: '/v1/redact',
      payload: { text: `t ${secret} m a@b.test`, destination: 'chat' },
      headers: { authorization: `Bearer ${token}` },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      redacted: 't [REDACTED:github-pat] m [REDACTED:email]',
      findings: [
        { kind: 'github-pat', start: 2, end: 42 },
        { kind: 'email', start: 45, end: 53 },
      ],
      blocked: false,
    });
  });

  it('validates the body', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/redact',
      payload: { text: 1, extra: true },
      headers: { authorization: `Bearer ${token}` },
    });
    expect(r.statusCode).toBe(400);
  });
});
