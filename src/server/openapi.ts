import type { FastifyInstance, RouteOptions } from 'fastify';

interface RouteDoc {
  method: string;
  url: string;
  schema: Record<string, unknown>;
  operator: boolean;
}

const PARTS: Array<[part: string, where: 'path' | 'query' | 'header']> = [
  ['params', 'path'],
  ['querystring', 'query'],
  ['headers', 'header'],
];

/**
 * Collects every route's JSON Schema (the form Fastify validates with, derived from the route's zod schema) as
 * routes are added; `document()` turns them into OpenAPI 3.1. Call `collect` before registering the routes.
 */
export class OpenApiCollector {
  private readonly routes: RouteDoc[] = [];

  collect(app: FastifyInstance, isOperatorOnly: (r: RouteOptions) => boolean): void {
    app.addHook('onRoute', (r) => {
      const methods = (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');
      const schema = (r.schema ?? {}) as Record<string, unknown>;
      for (const method of methods) {
        this.routes.push({ method: method.toLowerCase(), url: r.url, schema, operator: isOperatorOnly(r) });
      }
    });
  }

  document(version: string): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const op: Record<string, unknown> = {
        operationId: `${r.method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
        responses: responses(r.schema.response),
      };
      const parameters = PARTS.flatMap(([part, where]) => parametersOf(r.schema[part], where));
      if (parameters.length > 0) op.parameters = parameters;
      if (r.schema.body) {
        op.requestBody = { required: true, content: { 'application/json': { schema: r.schema.body } } };
      }
      if (r.operator) op.security = [{ operatorToken: [] }];
      paths[path] = { ...paths[path], [r.method]: op };
    }
    return {
      openapi: '3.1.0',
      info: { title: 'Gatehouse gateway', version },
      paths,
      components: {
        securitySchemes: {
          operatorToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'operator token ghop_… (gatehouse operators add)',
          },
          agentToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'agent access token' },
        },
      },
    };
  }
}

function parametersOf(schema: unknown, where: 'path' | 'query' | 'header'): Record<string, unknown>[] {
  if (!schema || typeof schema !== 'object') return [];
  const s = schema as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, p]) => ({
    name,
    in: where,
    required: where === 'path' || (s.required ?? []).includes(name),
    schema: p,
  }));
}

function responses(schema: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (schema && typeof schema === 'object') {
    for (const [code, s] of Object.entries(schema as Record<string, unknown>)) {
      out[code] = { description: `HTTP ${code}`, content: { 'application/json': { schema: s } } };
    }
  }
  if (!out['200']) out['200'] = { description: 'OK' };
  out.default = {
    description: 'Error: `{error, message}` with a stable code',
    content: {
      'application/json': {
        schema: {
          type: 'object',
          properties: { error: { type: 'string' }, message: { type: 'string' } },
          required: ['error', 'message'],
        },
      },
    },
  };
  return out;
}
