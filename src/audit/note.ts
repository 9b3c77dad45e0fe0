import { createHash, type KeyObject, sign, verify } from 'node:crypto';

/** C2SP signed note / tlog-checkpoint for the audit Merkle tree: origin, size, base64 root, Ed25519 signature line. */
export const CHECKPOINT_ORIGIN = 'gatehouse.audit';

function rawEd25519(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.from(String(jwk.x), 'base64url');
}

/** The 4-byte key hint: SHA-256(name ‖ "\n" ‖ 0x01 ‖ raw public key)[:4]. */
function keyHint(name: string, publicKey: KeyObject): Buffer {
  return createHash('sha256')
    .update(`${name}\n`)
    .update(Buffer.from([1]))
    .update(rawEd25519(publicKey))
    .digest()
    .subarray(0, 4);
}

export function checkpointBody(size: number, root: Buffer): string {
  return `${CHECKPOINT_ORIGIN}\n${size}\n${root.toString('base64')}\n`;
}

export function signNote(body: string, name: string, privateKey: KeyObject, publicKey: KeyObject): string {
  const sig = sign(null, Buffer.from(body, 'utf8'), privateKey);
  return `${body}\n\u2014 ${name} ${Buffer.concat([keyHint(name, publicKey), sig]).toString('base64')}\n`;
}

/** Verifies a signed note; returns its body, or undefined when no signature line of `name` verifies. */
export function openNote(note: string, name: string, publicKey: KeyObject): string | undefined {
  const split = note.indexOf('\n\n');
  if (split < 0) return undefined;
  const body = note.slice(0, split + 1);
  const hint = keyHint(name, publicKey);
  for (const line of note.slice(split + 2).split('\n')) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const raw = Buffer.from(m[2]!, 'base64');
    if (raw.length < 5 || !raw.subarray(0, 4).equals(hint)) continue;
    if (verify(null, Buffer.from(body, 'utf8'), publicKey, raw.subarray(4))) return body;
  }
  return undefined;
}
