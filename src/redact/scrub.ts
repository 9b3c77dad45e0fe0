import { randomBytes } from 'node:crypto';
import type { KnownMatcher } from '../core/known-secrets.js';
import type { MasterKey } from '../core/masterkey.js';
import type { Store } from '../store/store.js';
import { type Finding, Redactor } from './redact.js';

export interface ScrubberOptions {
  /**
   * The detector run over every string besides the known values. Defaults to the full rule table with the
   * generic tier redacting and decoding on: evidence (a denied path, a screened excerpt) may hold any credential,
   * not only ones the broker handed out.
   */
  redactor?: Redactor;
}

/** Shorter strings cannot hold a credential the rule table recognises (known values are matched at any length). */
const MIN_SCAN_LENGTH = 8;

/**
 * The audit log's last line of defence: every string in an event (keys included) has every known secret value
 * (raw and encoded) and every credential the secret detector finds replaced with `[REDACTED:<kind>]` before the
 * event is hashed and written. Fails closed: a string the detector cannot scan is replaced whole.
 *
 * @example
 * AuditLog.open({ dir, scrub: createSecretScrubber(broker.known) });
 */
export function createSecretScrubber(known: KnownMatcher, opts: ScrubberOptions = {}): <T>(event: T) => T {
  // Audit strings are machine-read evidence: the generic tier redacts there, PII and link policy do not apply.
  const redactor = opts.redactor ?? new Redactor({ known, pii: [], destinations: { audit: { generic: 'redact' } } });
  const ownKnown = opts.redactor === undefined;
  const scrubString = (s: string): string => {
    try {
      const spans: Finding[] = [];
      if (!ownKnown || s.length < MIN_SCAN_LENGTH) {
        for (const h of known.find(s))
          spans.push({ kind: 'known_secret', category: 'known_secret', start: h.start, end: h.end, action: 'block' });
      }
      if (s.length >= MIN_SCAN_LENGTH) {
        for (const f of redactor.scan(s, { destination: 'audit' })) {
          // Only credentials are removed: exfiltration verdicts and PII are the evidence the event records.
          if (f.category === 'secret' || f.category === 'known_secret') spans.push(f);
        }
      }
      if (spans.length === 0) return s;
      spans.sort((a, b) => a.start - b.start || b.end - a.end);
      let out = '';
      let at = 0;
      for (const h of spans) {
        if (h.end <= at) continue;
        out += `${s.slice(at, Math.max(at, h.start))}[REDACTED:${h.kind}]`;
        at = h.end;
      }
      return out + s.slice(at);
    } catch {
      return '[REDACTED:scrub_failed]';
    }
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrubString(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[scrubString(k)] = walk(x);
      return out;
    }
    return v;
  };
  return <T>(event: T): T => walk(event) as T;
}

/**
 * The key of `hmac` redaction mode, created once and kept sealed under the master key in the store, so the same
 * value gets the same tag across restarts (and cannot be recomputed without the master key).
 */
export async function loadRedactionKey(store: Store, master: MasterKey): Promise<Buffer> {
  const context = 'gatehouse.redact.hmac_key';
  const fresh = randomBytes(32);
  // Written only if absent, so two processes opening a new store at once end up with the same key.
  await store.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING', [
    'redact.hmac_key',
    master.seal(fresh, context).toString('base64'),
  ]);
  const sealed = await store.getMeta('redact.hmac_key');
  return master.open(Buffer.from(sealed!, 'base64'), context);
}
