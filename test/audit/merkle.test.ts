import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inclusionProof, leafHash, rootOf, verifyInclusion } from '../../src/audit/merkle.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(sha(`event ${i}`)));

/** The recursive definition of RFC 6962 section 2.1, as an independent oracle for the iterative root. */
function mth(ls: Buffer[]): Buffer {
  if (ls.length === 1) return ls[0]!;
  let k = 1;
  while (k * 2 < ls.length) k *= 2;
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(mth(ls.slice(0, k)))
    .update(mth(ls.slice(k)))
    .digest();
}

describe('RFC 6962 Merkle tree', () => {
  it('the root matches the recursive definition for every size up to 70', () => {
    for (let n = 1; n <= 70; n++) expect(rootOf(leaves(n)).equals(mth(leaves(n)))).toBe(true);
  });
  it('every inclusion proof verifies, and fails for another leaf, index, size or root', () => {
    for (const n of [1, 2, 3, 5, 8, 13, 64, 100]) {
      const ls = leaves(n);
      const root = rootOf(ls);
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(ls, m);
        expect(verifyInclusion(ls[m]!, m, n, proof, root)).toBe(true);
        if (n > 1) {
          expect(verifyInclusion(ls[(m + 1) % n]!, m, n, proof, root)).toBe(false);
          expect(verifyInclusion(ls[m]!, (m + 1) % n, n, proof, root)).toBe(false);
        }
        expect(verifyInclusion(ls[m]!, m, n, proof, leafHash(sha('other')))).toBe(false);
      }
    }
  });
  it('a proof is logarithmic in the tree size', () => {
    expect(inclusionProof(leaves(1000), 517).length).toBeLessThanOrEqual(10);
  });
});
