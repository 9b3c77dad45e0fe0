import { createHash, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Checkpoint, HeadStore, type SignedCheckpoint, verifyCheckpoint } from './checkpoint.js';
import { type AuditEvent, GENESIS_HASH, HASH_SUFFIX_LENGTH } from './event.js';
import { forEachLine, listSegments } from './segments.js';

export type VerifyStatus = 'ok' | 'empty' | 'torn_tail' | 'tampered' | 'truncated' | 'rolled_back' | 'unsigned_tail';

export interface VerifyResult {
  ok: boolean;
  status: VerifyStatus;
  events: number;
  lastSeq: number;
  lastHash: string;
  /** The first sequence number that is missing, altered or out of place. */
  firstBadSeq?: number;
  /** Where: segment file and 1-based line. */
  location?: { file: string; line: number };
  message: string;
  checkpoint?: { seq: number; signed: boolean; signatureValid?: boolean };
  /** Valid events after the last committed checkpoint (a crash between write and commit). */
  unanchored: number;
  /** Valid events after the last signed checkpoint: nothing vouches for them but the file itself. */
  unsigned: number;
  /** Ranges the writer found unsigned when it opened the log (`audit.unsigned_tail` events), signed since. */
  unsignedFound: { seq: number; from: number; to: number }[];
  /** External checkpoints (store anchor, witness files) and whether the log still holds each. */
  witnesses: { source: string; seq: number; held: boolean; signatureValid?: boolean }[];
}

/** A signed checkpoint kept outside the audit directory, with where it came from (for messages). */
export interface Witness extends SignedCheckpoint {
  source: string;
}

/**
 * Walks the whole chain: every line must parse, carry the next sequence number, name the previous hash and
 * hash to what it says; the end must reach the signed checkpoint. Any edited byte, deleted, inserted, swapped
 * or duplicated line, or truncated tail is reported with the first bad sequence number; a torn last line (a
 * crash in the middle of a write) is reported as such.
 */
export interface VerifyOptions {
  /** A pinned key: the checkpoint must verify with it. */
  publicKey?: KeyObject;
  /**
   * Looks up the key by the checkpoint's `kid` (the keyring). A kid it does not know fails verification: a rewritten
   * head naming an unknown key must not skip the signature check.
   */
  keyFor?: (kid: string) => KeyObject | undefined;
  /**
   * When a key is given, events after the last signed checkpoint make the log fail with `unsigned_tail` unless this
   * is set (a crash inside the one-second signing window leaves a legitimate unsigned tail).
   */
  allowUnsignedTail?: boolean;
  /** Checkpoints kept elsewhere: the log must still contain each (else rolled back, replaced or deleted). */
  witnesses?: Witness[];
}

export function verifyLog(dir: string, opts: VerifyOptions = {}): VerifyResult {
  const { head, signed } = readAnchors(dir);
  // A line at or below a committed anchor was on disk before the anchor was written: a crash cannot tear it.
  const committed = Math.max(head?.seq ?? 0, signed?.seq ?? 0);
  let seq = 0;
  let prev = GENESIS_HASH;
  let events = 0;
  const hashAt = new Map<number, string>();
  let failure:
    | Omit<
        VerifyResult,
        'events' | 'lastSeq' | 'lastHash' | 'unanchored' | 'unsigned' | 'unsignedFound' | 'witnesses' | 'ok'
      >
    | undefined;
  const witnesses = opts.witnesses ?? [];
  const wanted = new Set(witnesses.map((w) => w.seq));
  const unsignedFound: VerifyResult['unsignedFound'] = [];

  for (const seg of listSegments(dir)) {
    const buf = readFileSync(seg.file);
    let lineNo = 0;
    forEachLine(buf, (a, b, terminated) => {
      lineNo += 1;
      const expected = seq + 1;
      const problem = checkEvent(buf.subarray(a, b), expected, prev);
      if (typeof problem === 'string') {
        const cut = !terminated && b === buf.length;
        const torn = cut && expected > committed;
        failure = {
          status: torn ? 'torn_tail' : cut ? 'truncated' : 'tampered',
          firstBadSeq: expected,
          location: { file: seg.file, line: lineNo },
          message: torn
            ? `torn last line at seq ${expected} (${b - a} bytes, a crash during a write); events up to ${seq} are intact`
            : cut
              ? `seq ${expected} is cut short, but the checkpoint records events up to ${committed}: the log was truncated`
              : `seq ${expected}: ${problem}`,
        };
        return false;
      }
      seq = problem.seq;
      prev = problem.hash;
      events += 1;
      if (seq === head?.seq || seq === signed?.seq || wanted.has(seq)) hashAt.set(seq, prev);
      if (problem.type === 'audit.unsigned_tail') {
        const d = problem.data as { from?: unknown; to?: unknown } | undefined;
        if (typeof d?.from === 'number' && typeof d.to === 'number')
          unsignedFound.push({ seq, from: d.from, to: d.to });
      }
      return true;
    });
    if (failure) break;
  }

  const checking = opts.publicKey !== undefined || opts.keyFor !== undefined;
  const keyOf = (kid: string) => opts.publicKey ?? opts.keyFor?.(kid);
  const key = signed ? keyOf(signed.kid) : undefined;
  const witnessed = witnesses.map((w) => {
    const k = checking ? keyOf(w.kid) : undefined;
    return {
      source: w.source,
      seq: w.seq,
      held: hashAt.get(w.seq) === w.hash,
      ...(checking ? { signatureValid: k !== undefined && verifyCheckpoint(w, k) } : {}),
    };
  });
  const unsigned = Math.max(0, seq - (signed && hashAt.get(signed.seq) === signed.hash ? signed.seq : 0));
  const base = { events, lastSeq: seq, lastHash: prev, unsigned, unsignedFound, witnesses: witnessed };
  const checkpoint = signed
    ? {
        seq: signed.seq,
        signed: true,
        ...(checking ? { signatureValid: key !== undefined && verifyCheckpoint(signed, key) } : {}),
      }
    : head
      ? { seq: head.seq, signed: false }
      : undefined;
  // The committed head and the signed checkpoint both anchor the end of the log; the further one decides truncation.
  const anchors: { seq: number; hash: string }[] = [];
  for (const a of [head, signed]) if (a && a.seq > 0) anchors.push({ seq: a.seq, hash: a.hash });
  const reach = Math.max(0, ...anchors.map((x) => x.seq));
  const unanchored = Math.max(0, seq - reach);
  const withCp = checkpoint ? { checkpoint } : {};
  if (failure) return { ok: false, ...base, ...failure, ...withCp, unanchored };
  const forged = witnessed.find((w) => w.signatureValid === false);
  if (forged) {
    return {
      ok: false,
      status: 'tampered',
      ...base,
      ...withCp,
      unanchored,
      message: `the checkpoint from ${forged.source} (seq ${forged.seq}) does not verify with the audit key`,
    };
  }
  const lost = witnessed.find((w) => !w.held);
  if (lost) {
    const gone = seq < lost.seq;
    return {
      ok: false,
      status: 'rolled_back',
      ...base,
      firstBadSeq: gone ? seq + 1 : lost.seq,
      ...withCp,
      unanchored,
      message: gone
        ? `the log ends at seq ${seq}, but ${lost.source} holds a signed checkpoint at seq ${lost.seq}: the log was rolled back or deleted`
        : `seq ${lost.seq} hashes differently from the signed checkpoint in ${lost.source}: the log was replaced`,
    };
  }
  if (checkpoint?.signatureValid === false) {
    return {
      ok: false,
      status: 'tampered',
      ...base,
      ...withCp,
      unanchored,
      message: key
        ? 'checkpoint signature is invalid'
        : `checkpoint is signed by key ${signed?.kid}, which is not a known audit key`,
    };
  }
  if (seq < reach) {
    return {
      ok: false,
      status: 'truncated',
      ...base,
      firstBadSeq: seq + 1,
      ...withCp,
      unanchored: 0,
      message: `log ends at seq ${seq} but its checkpoint records ${reach}: events ${seq + 1}..${reach} are missing`,
    };
  }
  for (const anchor of anchors.sort((x, y) => x.seq - y.seq)) {
    if (hashAt.get(anchor.seq) !== anchor.hash) {
      return {
        ok: false,
        status: 'tampered',
        ...base,
        firstBadSeq: anchor.seq,
        ...withCp,
        unanchored,
        message: `seq ${anchor.seq}: hash differs from the checkpoint (the chain was rewritten)`,
      };
    }
  }
  if (events === 0) return { ok: true, status: 'empty', ...base, ...withCp, unanchored, message: 'audit log is empty' };
  if (checking && unsigned > 0) {
    const from = seq - unsigned + 1;
    return {
      ok: opts.allowUnsignedTail === true,
      status: 'unsigned_tail',
      ...base,
      firstBadSeq: from,
      ...withCp,
      unanchored,
      message: `events ${from}..${seq} come after the last signed checkpoint${signed ? ` (seq ${signed.seq})` : ''}: nothing signed them (a crash within the signing window, or appended by someone else)`,
    };
  }
  return {
    ok: true,
    status: 'ok',
    ...base,
    ...withCp,
    unanchored,
    message: `${events} events verified, seq 1..${seq}${unanchored ? ` (${unanchored} after the last checkpoint)` : ''}${
      unsignedFound.length
        ? `; the writer found ${unsignedFound.map((u) => `${u.from}..${u.to}`).join(', ')} unsigned on open (see those audit.unsigned_tail events)`
        : ''
    }`,
  };
}

function readAnchors(dir: string): { head: Checkpoint | undefined; signed: SignedCheckpoint | undefined } {
  const file = join(dir, 'head.sqlite');
  if (!existsSync(file)) return { head: undefined, signed: undefined };
  const hs = new HeadStore(file, true);
  try {
    return { head: hs.read(), signed: hs.readSigned() };
  } finally {
    hs.close();
  }
}

/** The event if the line is the expected next link, else what is wrong with it. */
export function checkEvent(line: Buffer, expectedSeq: number, prev: string): AuditEvent | string {
  let ev: AuditEvent;
  try {
    ev = JSON.parse(line.toString('utf8')) as AuditEvent;
  } catch {
    return 'line is not valid JSON';
  }
  if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) return 'line is not a JSON object';
  if (typeof ev.seq !== 'number') return 'line has no sequence number';
  if (ev.seq < expectedSeq) return `found seq ${ev.seq} again (duplicated or reordered line)`;
  if (ev.seq > expectedSeq) return `missing: found seq ${ev.seq} instead (deleted or reordered line)`;
  if (ev.prev !== prev) return 'prev does not match the hash of the event before (inserted or reordered line)';
  if (typeof ev.hash !== 'string' || line.length <= HASH_SUFFIX_LENGTH) return 'line has no hash';
  if (line.toString('latin1', line.length - HASH_SUFFIX_LENGTH) !== `,"hash":"${ev.hash}"}`)
    return 'hash is not where it belongs';
  const digest = createHash('sha256')
    .update(prev)
    .update(line.subarray(0, line.length - HASH_SUFFIX_LENGTH))
    .update('}')
    .digest('hex');
  return digest === ev.hash ? ev : 'hash mismatch: the event was edited';
}

/** The hash of event `seq` as the segment files hold it (no chain check: `verifyLog` does that). */
export function hashAtSeq(dir: string, seq: number): string | undefined {
  const needle = Buffer.from(`"seq":${seq},`);
  for (const seg of listSegments(dir)) {
    const buf = readFileSync(seg.file);
    let found: string | undefined;
    forEachLine(buf, (a, b) => {
      const line = buf.subarray(a, b);
      if (line.indexOf(needle) === -1) return true;
      try {
        const ev = JSON.parse(line.toString('utf8')) as Partial<AuditEvent>;
        if (ev.seq === seq && typeof ev.hash === 'string') found = ev.hash;
      } catch {
        // A torn or edited line is verifyLog's to report.
      }
      return found === undefined;
    });
    if (found !== undefined) return found;
  }
  return undefined;
}
