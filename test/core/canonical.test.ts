import { describe, expect, it } from 'vitest';
import { canonicalHash, canonicalize } from '../../src/core/canonical.js';

describe('canonicalize (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units at every level and drops undefined', () => {
    expect(canonicalize({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, '\u20ac': 1, '\r': 2 })).toBe(
      '{"\\r":2,"a":{"d":[3,{"y":2,"z":1}]},"b":1,"€":1}',
    );
  });
  it('serialises numbers as ECMAScript does (RFC 8785 appendix B samples)', () => {
    expect(canonicalize([1e21, 1e-7, -0, 0.000001, 333333333.3333333, Number('9007199254740993')])).toBe(
      '[1e+21,1e-7,0,0.000001,333333333.3333333,9007199254740992]',
    );
  });
  it('escapes strings minimally', () => {
    expect(canonicalize('\u0000\u001f"\\/é')).toBe('"\\u0000\\u001f\\"\\\\/é"');
  });
  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalize(Number.NaN)).toThrow(/non-finite/);
    expect(() => canonicalize({ f: () => 1 })).toThrow(/function/);
    expect(() => canonicalize(10n)).toThrow(/bigint/);
  });
  it('hashes equal objects equally regardless of key order', () => {
    expect(canonicalHash({ a: 1, b: [1, 2] })).toBe(canonicalHash({ b: [1, 2], a: 1 }));
    expect(canonicalHash({ a: 1 })).not.toBe(canonicalHash({ a: 2 }));
  });
});
