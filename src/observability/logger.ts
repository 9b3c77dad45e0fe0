import { randomUUID } from 'node:crypto';
import pino, { type Logger, type LoggerOptions } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Everything that can carry a credential is censored before a line is written: bearer tokens, proofs,
 * certificates passed by a proxy, cookies, and token-shaped body members of the OAuth routes.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["gatehouse-pop"]',
  'req.headers.cookie',
  'req.headers["x-client-cert"]',
  'req.headers["ssl-client-cert"]',
  'res.headers["set-cookie"]',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.client_assertion',
  '*.password',
  '*.secret',
];

/** pino options for the gateway: JSON lines, ISO time, secrets censored, request URL without its query string. */
export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    base: { service: 'gatehouse' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: { id?: unknown; method?: string; url?: string; socket?: { remoteAddress?: string } }) => ({
        id: req.id,
        method: req.method,
        // Query strings can hold anything a client typed; the route and the request id are enough to correlate.
        url: typeof req.url === 'string' ? req.url.split('?')[0] : undefined,
        remote: req.socket?.remoteAddress,
      }),
      res: (res: { statusCode?: number }) => ({ status: res.statusCode }),
    },
  };
}

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}

/** Request ids are generated here, never taken from the client: a forged id could splice log lines together. */
export function requestId(): string {
  return randomUUID();
}

export function parseLogLevel(v: string | undefined): LogLevel | undefined {
  if (v === undefined) return undefined;
  return (LOG_LEVELS as readonly string[]).includes(v) ? (v as LogLevel) : undefined;
}
export type { Logger } from 'pino';
