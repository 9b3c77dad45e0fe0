import { randomBytes } from 'node:crypto';
import type { MasterKey } from '../core/masterkey.js';
import type { Store } from '../store/store.js';
import type { KnownMatcher } from './known.js';

/**
 * The audit log's last line of defence: every string in an event has every known secret value (raw and
 * encoded) replaced with `[REDACTED:known_secret]` before the event is hashed and written.
 *
 * @example
 * AuditLog.open({ dir, scrub: createSecretScrubber(broker.known) });
 */
export function createSecretScrubber(known: KnownMatcher): <T>(event: T) => T {
  const scrubString = (s: string): string => {
    const hits = known.find(s);
    if (hits.length === 0) return s;
    hits.sort((a, b) => a.start - b.start || b.end - a.end);
    let out = '';
    let at = 0;
    for (const h of hits) {
      if (h.start < at) continue;
      out += `${s.slice(at, h.start)}[REDACTED:known_secret]`;
      at = h.end;
    }
    return out + s.slice(at);
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
export function loadRedactionKey(store: Store, master: MasterKey): Buffer {
  const context = 'gatehouse.redact.hmac_key';
  const existing = store.getMeta('redact.hmac_key');
  if (existing) return master.open(Buffer.from(existing, 'base64'), context);
  const key = randomBytes(32);
  store.setMeta('redact.hmac_key', master.seal(key, context).toString('base64'));
  return key;
}
