import type { Span } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { ActionSchema } from '../../core/action.js';
import { InputError } from '../../core/errors.js';
import { type DecisionTimings, type Gatehouse, parseAction } from '../../gatehouse.js';
import type { Tracing } from '../../observability/tracing.js';
import { credentialOptions, credentialsFrom } from '../auth.js';
import { jsonSchema } from '../schema.js';
import { decisionStatus } from '../status.js';

const actionJsonSchema = jsonSchema(ActionSchema);

/**
 * `POST /v1/decide`: the Decision as the body, with a status that means something (see ../status.ts). Each
 * decision is one JSON log line (request id, agent, decision id, effect, reason codes) and, when tracing is on,
 * one span.
 */
export default async function decideRoutes(
  app: FastifyInstance,
  opts: { gatehouse: Gatehouse; tracing?: Tracing },
): Promise<void> {
  const gh = opts.gatehouse;
  const tracing = opts.tracing;
  const certOpts = credentialOptions(gh.config.identity);
  app.post('/v1/decide', { schema: { body: actionJsonSchema } }, async (req, reply) => {
    const credentials = credentialsFrom(req, certOpts);
    if (!credentials) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({
        error: 'auth.missing',
        message: 'present an access token (Authorization: Bearer <token>) or a client certificate',
      });
    }
    const action = parseAction(req.body);
    // Listings are what the MCP proxy itself asks about upstream tools; a caller submitting one could only open
    // approval requests for definitions no server offered.
    if (action.kind === 'tool_listing') {
      throw new InputError('body.kind', 'tool_listing actions are made by the MCP proxy, not submitted over HTTP');
    }
    const started = performance.now();
    const run = async (span?: Span) => {
      const decision = await gh.decide(action, {
        credentials,
        ...(span && tracing ? { onTimings: (t: DecisionTimings) => stageSpans(tracing, span, t) } : {}),
      });
      const { status, headers } = decisionStatus(decision, gh.config.limits);
      const codes = decision.reasons.map((r) => r.code);
      span?.setAttributes({
        'gatehouse.decision_id': decision.id,
        'gatehouse.effect': decision.effect,
        'gatehouse.tier': decision.tier,
        'gatehouse.reason_codes': codes,
        'gatehouse.audit_seq': decision.auditSeq,
        'http.response.status_code': status,
      });
      gh.metrics.recordHttpDecision(status, (performance.now() - started) / 1000);
      req.log.info(
        { agent: action.agent, decisionId: decision.id, effect: decision.effect, reasons: codes, status },
        'decision',
      );
      return reply.code(status).headers(headers).send(decision);
    };
    if (!tracing) return run();
    return tracing.span(
      'gatehouse.decide',
      {
        'gatehouse.agent': action.agent,
        'gatehouse.action_kind': action.kind,
        ...(action.kind === 'tool_call' && action.tool ? { 'gatehouse.tool': action.tool } : {}),
      },
      run,
      typeof req.headers.traceparent === 'string' ? req.headers.traceparent : undefined,
    );
  });
}

/** A child span per pipeline stage, plus commit and audit times on the decision span. */
function stageSpans(tracing: Tracing, span: Span, t: DecisionTimings): void {
  tracing.recordChildren(
    span,
    t.stages.map((s) => ({ name: `gatehouse.stage.${s.stage}`, start: s.start, ms: s.ms })),
  );
  span.setAttributes({ 'gatehouse.commit_ms': t.commitMs, 'gatehouse.audit_ms': t.auditMs });
}
