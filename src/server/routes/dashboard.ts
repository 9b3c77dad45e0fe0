import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const ASSETS: Record<string, { file: string; type: string }> = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8' },
  'app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  'style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The operator dashboard: static files with a strict CSP; all data comes from operator-authenticated JSON routes. */
export default async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const dir = new URL('../dashboard/', import.meta.url);
  const files = new Map(
    Object.entries(ASSETS).map(([k, v]) => [k, { body: readFileSync(new URL(v.file, dir)), type: v.type }]),
  );
  const serve = (name: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const f = files.get(name)!;
    return reply
      .header('content-type', f.type)
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send(f.body);
  };
  app.get('/', async (_req, reply) => reply.redirect('/dashboard'));
  app.get('/dashboard', serve(''));
  app.get('/dashboard/app.js', serve('app.js'));
  app.get('/dashboard/style.css', serve('style.css'));
}
