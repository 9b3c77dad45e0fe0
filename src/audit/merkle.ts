import { createHash } from 'node:crypto';

/**
 * RFC 6962 / RFC 9162 Merkle tree over the audit event hashes: leaf = SHA-256(0x00 ‖ event hash bytes),
 * node = SHA-256(0x01 ‖ left ‖ right). Inclusion proofs let an auditor check one event against a signed root
 * with O(log n) hashes, without seeing the other events.
 */
export function leafHash(eventHashHex: string): Buffer {
  return createHash('sha256')
    .update(Buffer.from([0]))
    .update(Buffer.from(eventHashHex, 'hex'))
    .digest();
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(left)
    .update(right)
    .digest();
}

/** Largest power of two strictly smaller than n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over already-hashed leaves. */
export function rootOf(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  // Iterative RFC 6962 root: combine pairs level by level; an odd last node is carried up unchanged.
  let level = leaves.slice();
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/** PATH(m, D[n]) of RFC 6962 section 2.1.1, for leaf index m (0-based). */
export function inclusionProof(leaves: readonly Buffer[], m: number): Buffer[] {
  if (m < 0 || m >= leaves.length) throw new RangeError(`leaf ${m} is outside a tree of ${leaves.length}`);
  const path = (lo: number, hi: number, idx: number): Buffer[] => {
    const n = hi - lo;
    if (n === 1) return [];
    const k = split(n);
    return idx < k
      ? [...path(lo, lo + k, idx), rootOf(leaves.slice(lo + k, hi))]
      : [...path(lo + k, hi, idx - k), rootOf(leaves.slice(lo, lo + k))];
  };
  return path(0, leaves.length, m);
}

/** RFC 9162 section 2.1.3.2: does `proof` show leaf `index` with hash `leaf` in a tree of `size` with `root`? */
export function verifyInclusion(
  leaf: Buffer,
  index: number,
  size: number,
  proof: readonly Buffer[],
  root: Buffer,
): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && r.equals(root);
}
