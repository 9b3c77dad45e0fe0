import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { ChannelConfig } from '../../config/sections/monitor.js';
import { GatehouseError } from '../../core/errors.js';

/** What a channel is told: a secret-free summary of an alert, a quarantine or an escalation. */
export interface AlertMessage {
  /** Stable per (source event, channel): receivers use it to drop duplicates of a retried delivery. */
  id: string;
  kind: 'alert' | 'quarantine' | 'escalation';
  rule: string;
  agent: string;
  summary: string;
  /** Audit seq of the event that raised it. */
  seq: number;
  ts: string;
  incident?: string;
}

export class DeliveryError extends GatehouseError {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super('alert.delivery_failed', message);
  }
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the receiver recomputes it and checks t is recent. */
export function signature(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export interface DeliverContext {
  env: NodeJS.ProcessEnv;
  now: () => number;
  timeoutMs: number;
}

/** Sends one message on one channel; throws DeliveryError (retryable or not). */
export async function deliver(ch: ChannelConfig, msg: AlertMessage, ctx: DeliverContext): Promise<void> {
  switch (ch.kind) {
    case 'webhook': {
      const secret = secretOf(ctx.env, ch.secret_env, ch.name);
      const body = JSON.stringify(msg);
      await post(ch.url, body, ctx.timeoutMs, {
        'gatehouse-signature': signature(secret, body, Math.floor(ctx.now() / 1000)),
        'gatehouse-delivery': msg.id,
      });
      return;
    }
    case 'slack': {
      const url = secretOf(ctx.env, ch.url_env, ch.name);
      await post(url, JSON.stringify({ text: slackText(msg) }), ctx.timeoutMs, {});
      return;
    }
    case 'email': {
      const user = ch.user_env ? secretOf(ctx.env, ch.user_env, ch.name) : undefined;
      const pass = ch.password_env ? secretOf(ctx.env, ch.password_env, ch.name) : undefined;
      let ca: string | undefined;
      if (ch.ca_file) {
        try {
          ca = readFileSync(ch.ca_file, 'utf8');
        } catch (err) {
          throw new DeliveryError(
            `channel ${ch.name}: cannot read ca_file ${ch.ca_file}: ${(err as Error).message}`,
            false,
          );
        }
      }
      // requireTLS: an alert names agents and rules, so it never goes over a relay that will not upgrade.
      const transport = nodemailer.createTransport({
        host: ch.host,
        port: ch.port,
        secure: ch.secure,
        requireTLS: !ch.secure,
        connectionTimeout: ctx.timeoutMs,
        greetingTimeout: ctx.timeoutMs,
        socketTimeout: ctx.timeoutMs,
        tls: { minVersion: 'TLSv1.2', ...(ca ? { ca } : {}) },
        ...(user && pass ? { auth: { user, pass } } : {}),
      });
      try {
        await transport.sendMail({
          from: ch.from,
          to: ch.to,
          subject: `[gatehouse] ${msg.kind}: ${msg.rule} (${msg.agent})`,
          text: `${msg.summary}\n\nagent: ${msg.agent}\nrule: ${msg.rule}\naudit seq: ${msg.seq}\ntime: ${msg.ts}\n`,
          headers: { 'Gatehouse-Delivery': msg.id },
        });
      } catch (err) {
        throw new DeliveryError(`smtp ${ch.host}:${ch.port}: ${(err as Error).message}`, true);
      } finally {
        transport.close();
      }
      return;
    }
  }
}

function secretOf(env: NodeJS.ProcessEnv, name: string, channel: string): string {
  const v = env[name];
  if (!v) throw new DeliveryError(`channel ${channel}: environment variable ${name} is not set`, false);
  return v;
}

/** Slack mrkdwn treats <, > and & as markup: escaped so an agent name cannot inject a link or a mention. */
function slackText(msg: AlertMessage): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `:rotating_light: *${esc(msg.kind)}* ${esc(msg.rule)} — agent \`${esc(msg.agent)}\`: ${esc(msg.summary)}`;
}

async function post(url: string, body: string, timeoutMs: number, headers: Record<string, string>): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'gatehouse-alerts', ...headers },
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new DeliveryError(`${new URL(url).host}: ${(err as Error).message}`, true);
  }
  await res.body?.cancel();
  if (res.ok) return;
  // 4xx other than 408/429 will not get better by retrying.
  const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
  throw new DeliveryError(`${new URL(url).host}: HTTP ${res.status}`, retryable);
}
