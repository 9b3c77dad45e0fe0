import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError, GatehouseError, InputError, NotFoundError } from '../core/errors.js';

/** Maps every failure to a JSON error with a stable code; internal errors never leak details. */
export function errorHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  const fe = err as FastifyError;
  if (fe.validation) {
    const v = fe.validation[0];
    const where = `${fe.validationContext ?? 'body'}${v?.instancePath ?? ''}`.replace(/\//g, '.');
    const extra =
      v?.keyword === 'additionalProperties'
        ? ` (${String((v.params as { additionalProperty?: string }).additionalProperty)})`
        : '';
    void reply.code(400).send({ error: 'input.invalid', message: `${where}: ${v?.message ?? 'invalid'}${extra}` });
    return;
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    void reply.code(413).send({
      error: 'input.too_large',
      message: `request body exceeds the limit of ${req.routeOptions.bodyLimit ?? ''} bytes`,
    });
    return;
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    void reply.code(415).send({ error: 'input.media_type', message: 'expected Content-Type: application/json' });
    return;
  }
  if (
    fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    err instanceof SyntaxError
  ) {
    void reply.code(400).send({ error: 'input.invalid_json', message: `body: invalid JSON: ${err.message}` });
    return;
  }
  if (err instanceof InputError || err instanceof ConfigError) {
    void reply.code(400).send({ error: err.code, message: err.message });
    return;
  }
  if (err instanceof NotFoundError) {
    void reply.code(404).send({ error: err.code, message: err.message });
    return;
  }
  const status = (err as { status?: unknown }).status;
  if (err instanceof GatehouseError && typeof status === 'number') {
    void reply.code(status).send({ error: err.code, message: err.message });
    return;
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    void reply.code(fe.statusCode).send({ error: fe.code ?? 'input.invalid', message: err.message });
    return;
  }
  req.log.error({ err }, 'request failed');
  void reply.code(500).send({ error: 'internal.error', message: 'internal error; see the gateway log' });
}
