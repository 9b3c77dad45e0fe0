import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Gatehouse } from '../../gatehouse.js';
import { IdentityError } from '../../identity/errors.js';
import { Screener } from '../../screen/screener.js';
import { credentialOptions, credentialsFrom } from '../auth.js';
import { jsonSchema, read } from '../schema.js';

const Body = z.strictObject({
  text: z.string().max(16 * 1024 * 1024),
  /** Trust label of the text's origin; per-source thresholds from the configuration apply. */
  source: z
    .string()
    .regex(/^(owner|user|public|web|tool:[A-Za-z0-9_.:/-]{1,128})$/)
    .optional(),
});

const findingSchema = {
  type: 'object',
  properties: {
    rule: { type: 'string' },
    category: { type: 'string' },
    score: { type: 'number' },
    evidence: { type: 'string' },
    view: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

const responseSchema = {
  200: {
    type: 'object',
    properties: {
      score: { type: 'number' },
      action: { type: 'string', enum: ['allow', 'review', 'block'] },
      findings: { type: 'array', items: findingSchema },
    },
  },
  401: { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } },
} as const;

/** POST /v1/scan: {text, source?} → {score, action: allow|review|block, findings:[{rule, category, score, evidence, view, message}]}. */
export default async function scanRoutes(app: FastifyInstance, opts: { gatehouse: Gatehouse }): Promise<void> {
  const gh = opts.gatehouse;
  const certOpts = credentialOptions(gh.config.identity);
  const screener = new Screener();
  const cfg = gh.config.screening;
  app.post('/v1/scan', { schema: { body: jsonSchema(Body), response: responseSchema } }, async (req, reply) => {
    const credentials = credentialsFrom(req, certOpts);
    if (!credentials) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'auth.missing', message: 'present an access token: Authorization: Bearer <token>' });
    }
    try {
      await gh.identity.authenticateCaller(credentials, { method: 'POST /v1/scan' });
    } catch (err) {
      if (err instanceof IdentityError) return reply.code(401).send({ error: err.code, message: err.message });
      throw err;
    }
    const { text, source } = read(Body, req.body, 'body');
    const own = source
      ? (cfg.sources[source] ?? (source.startsWith('tool:') ? cfg.sources['tool:*'] : undefined))
      : undefined;
    const r = screener.screen(text, {
      blockAt: own?.block_at ?? cfg.block_at,
      reviewAt: own?.review_at ?? cfg.review_at,
      maxChars: cfg.max_input,
      rot13MaxChars: cfg.rot13_max_chars,
      decode: { depth: cfg.decode_depth, maxSegments: 64, maxSegmentChars: 64 * 1024 },
    });
    return {
      score: r.score,
      action: r.action,
      findings: r.findings.map((f) => ({
        rule: f.rule,
        category: f.category,
        score: f.score,
        evidence: f.evidence,
        view: f.view,
        message: f.message,
      })),
    };
  });
}
