import { createHash } from 'node:crypto';

/**
 * RFC 8785 JSON Canonicalization Scheme. Own code (about 30 lines) because it sits on the audit and
 * approval-binding hot paths and must reject values JSON cannot carry instead of silently dropping them.
 */
export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot carry a non-finite number');
      // ECMAScript Number serialisation is exactly what RFC 8785 section 3.2.2.3 specifies.
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalize(v === undefined ? null : v)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
        return canonicalize((obj as { toJSON: () => unknown }).toJSON());
      }
      // RFC 8785 sorts by UTF-16 code units, which is JavaScript's default string order.
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(obj[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot carry a ${typeof value}`);
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of the canonical JSON of a value: the binding hash for approvals and pins. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalize(value));
}
