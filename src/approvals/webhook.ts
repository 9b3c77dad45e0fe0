import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Approval webhooks: a JSON POST to the configured URL, signed with HMAC-SHA256 so the receiver can check it
 * came from this Gatehouse and was not replayed. Headers:
 * - `Gatehouse-Timestamp`: milliseconds since the epoch
 * - `Gatehouse-Signature`: `sha256=<hex HMAC of "<timestamp>.<body>">`
 *
 * @example
 * const ok = verifyWebhook(secret, req.headers['gatehouse-timestamp'], req.headers['gatehouse-signature'], rawBody, Date.now());
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Checks a webhook signature in constant time and refuses timestamps more than `toleranceMs` away. */
export function verifyWebhook(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  body: string,
  now: number,
  toleranceMs = 5 * 60_000,
): boolean {
  if (!timestamp || !signature || !/^\d{1,16}$/.test(timestamp)) return false;
  const ts = Number(timestamp);
  if (Math.abs(now - ts) > toleranceMs) return false;
  const expected = Buffer.from(signWebhook(secret, ts, body));
  const got = Buffer.from(signature);
  return expected.length === got.length && timingSafeEqual(expected, got);
}

export interface WebhookTarget {
  url: string;
  secret: string;
  timeoutMs: number;
}

/** Posts one event; resolves with the HTTP status, rejects on network errors and timeouts. */
export async function postWebhook(target: WebhookTarget, event: Record<string, unknown>, now: number): Promise<number> {
  const body = JSON.stringify(event);
  const res = await fetch(target.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'gatehouse-timestamp': String(now),
      'gatehouse-signature': signWebhook(target.secret, now, body),
    },
    body,
    redirect: 'error',
    signal: AbortSignal.timeout(target.timeoutMs),
  });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}
