import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { canonicalize } from '../core/canonical.js';
import { type Clock, systemClock } from '../core/clock.js';
import { AuditError, describeError } from '../core/errors.js';
import { AnchorStore } from './anchor.js';
import {
  type Checkpoint,
  type CheckpointSigner,
  HeadStore,
  type SignedCheckpoint,
  signCheckpoint,
} from './checkpoint.js';
import { type AuditEventInput, GENESIS_HASH, HASH_SUFFIX_LENGTH } from './event.js';
import { forEachLine, listSegments, segmentName } from './segments.js';
import { checkEvent, hashAtSeq } from './verify.js';

export interface AuditLogOptions {
  dir: string;
  clock?: Clock;
  signer?: CheckpointSigner;
  segmentMaxBytes?: number;
  maxBatch?: number;
  /** Last-line defence applied to every event before it is hashed (e.g. a secret scrubber). */
  scrub?: (e: AuditEventInput) => AuditEventInput;
  /**
   * A SQLite database outside the audit directory that keeps a copy of every signed checkpoint (meta table), so a
   * deleted or rolled-back audit directory is caught. Default: in the data-directory layout (`<data>/audit`),
   * `<data>/gatehouse.db` when it exists; `false` turns it off.
   */
  anchorFile?: string | false;
  /** Most non-durable events acknowledged before they are on disk (what a `kill -9` can lose). */
  maxUndurable?: number;
  /**
   * Called with each new signed checkpoint once it is committed (the gateway publishes it to the shared store).
   * Must not throw or block: it runs inside the append path.
   */
  onSigned?: (c: SignedCheckpoint) => void;
}

export interface AuditReceipt {
  seq: number;
  hash: string;
}

interface Sequenced {
  line: string;
  receipt: AuditReceipt;
  durable: boolean;
  resolve: (r: AuditReceipt) => void;
  reject: (e: Error) => void;
}

interface Waiting {
  input: AuditEventInput;
  durable: boolean;
  resolve: (r: AuditReceipt) => void;
  reject: (e: Error) => void;
}

/** Longest a busy writer keeps the lease before draining its queue and committing the signed head. */
const LEASE_MAX_MS = 200;

/** Longest time between two signed checkpoints while the log is being written. */
const SIGN_EVERY_MS = 1000;

/** After a write failure (e.g. a full disk), how long appends are refused before the log tries to recover. */
const RETRY_AFTER_MS = 250;

/** Failures that a retry cannot fix: the files on disk disagree with the checkpoints. */
const PERMANENT = new Set(['audit.tampered', 'audit.truncated', 'audit.rolled_back']);

const TYPE_RE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

/**
 * Append-only, hash-chained JSON-lines audit log.
 *
 * Writing takes a lease: the write lock of the head database, held from the first append of a burst until
 * everything queued is on disk. While the lease is held, `append` sequences and hashes an event synchronously,
 * so a non-durable append costs microseconds. Adaptive group commit: whenever no flush is in flight, everything
 * queued is written and fdatasynced as one batch, so throughput grows with the number of concurrent writers
 * instead of timers stalling single writers. Durable appends resolve only once their batch is on disk.
 * Several processes may append to one log: a process waiting for the lease announces itself with a
 * `want-<pid>` file and the holder hands the lease over at its next batch boundary.
 */
export class AuditLog {
  private readonly dir: string;
  private readonly clock: Clock;
  private readonly signer: CheckpointSigner | undefined;
  private readonly segmentMaxBytes: number;
  private readonly maxBatch: number;
  private readonly scrub: ((e: AuditEventInput) => AuditEventInput) | undefined;
  private readonly headStore: HeadStore;
  /** Sequenced under the lease, not yet written. */
  private queue: Sequenced[] = [];
  /** Appended while the lease was being handed to another process; sequenced after re-acquiring it. */
  private waiting: Waiting[] = [];
  /** The head as this process has sequenced it; valid only while the lease is held. */
  private mem: Checkpoint | undefined;
  private yielding = false;
  private leaseStart = 0;
  private lastSigned = 0;
  private flushing: Promise<void> | undefined;
  private fh: FileHandle | undefined;
  private fhSegment = 0;
  private closed = false;
  private failure: AuditError | undefined;
  private failedAt = 0;
  /** Appends refused since the failure, reported in the `audit.outage` event once the log recovers. */
  private refused = 0;
  private readonly anchor: AnchorStore | undefined;
  private readonly maxUndurable: number;
  private readonly onSigned: ((c: SignedCheckpoint) => void) | undefined;
  /** Non-durable events acknowledged and not yet on disk. */
  private undurable = 0;

  private constructor(opts: AuditLogOptions) {
    this.dir = opts.dir;
    this.clock = opts.clock ?? systemClock;
    this.signer = opts.signer;
    this.segmentMaxBytes = opts.segmentMaxBytes ?? 64 * 1024 * 1024;
    this.maxBatch = opts.maxBatch ?? 4096;
    this.scrub = opts.scrub;
    this.maxUndurable = opts.maxUndurable ?? 1024;
    this.onSigned = opts.onSigned;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.headStore = new HeadStore(join(this.dir, 'head.sqlite'));
    const anchorFile =
      opts.anchorFile ?? (basename(this.dir) === 'audit' ? join(dirname(this.dir), 'gatehouse.db') : false);
    this.anchor = anchorFile !== false && fileSize(anchorFile) >= 0 ? new AnchorStore(anchorFile) : undefined;
  }

  /** Opens (creating if needed) the log in `dir` and recovers a tail left by a crash. */
  static open(opts: AuditLogOptions): AuditLog {
    const log = new AuditLog(opts);
    try {
      log.acquire(true);
      log.checkAnchor();
      log.markUnsignedTail();
      if (log.queue.length > 0) log.flushing = log.flushLoop();
      else log.release();
    } catch (err) {
      log.headStore.close();
      log.anchor?.close();
      throw err instanceof AuditError
        ? err
        : new AuditError('audit.open_failed', `cannot open audit log: ${describeError(err)}`);
    }
    return log;
  }

  /**
   * Records an event. Durable (the default) resolves once the event is on disk; non-durable resolves as soon as
   * the event is sequenced and chained (it is written with the next batch).
   */
  append(input: AuditEventInput, opts: { durable?: boolean } = {}): Promise<AuditReceipt> {
    if (this.closed) return Promise.reject(new AuditError('audit.closed', 'audit log is closed'));
    if (!TYPE_RE.test(input.type)) {
      return Promise.reject(new AuditError('audit.invalid_event', `invalid audit event type "${input.type}"`));
    }
    if (this.failure && !this.tryRecover()) {
      this.refused += 1;
      return Promise.reject(this.failure);
    }
    // Past the bound, a non-durable append waits for the disk like a durable one: `kill -9` loses at most maxUndurable.
    const durable = (opts.durable ?? true) || this.undurable >= this.maxUndurable;
    if (this.yielding) {
      return new Promise((resolve, reject) => this.waiting.push({ input, durable, resolve, reject }));
    }
    try {
      if (!this.mem) this.acquire();
    } catch (err) {
      return Promise.reject(this.fail(err));
    }
    return new Promise<AuditReceipt>((resolve, reject) => {
      const receipt = this.sequence(input, durable, resolve, reject);
      if (!durable) this.acknowledge(receipt, resolve);
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  /** Resolves when everything appended so far is durable and covered by a signed checkpoint. */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    if (!this.signer || this.failure || this.closed) return;
    const head = this.headStore.read();
    if (head && head.seq > 0 && this.headStore.readSigned()?.seq !== head.seq) this.signNow();
  }

  /** Outage state for health checks: the error that makes appends fail, if any. */
  get error(): AuditError | undefined {
    return this.failure;
  }

  head(): Checkpoint | undefined {
    return this.mem ?? this.headStore.read();
  }

  /** The latest signed checkpoint of the log, if it has one. */
  signedHead(): SignedCheckpoint | undefined {
    return this.headStore.readSigned();
  }

  async close(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    // Sign whatever the log holds now, so a closed log always ends at a signed checkpoint.
    if (this.signer && !this.failure) this.signNow();
    this.closed = true;
    await this.fh?.close();
    this.fh = undefined;
    this.headStore.close();
    this.anchor?.close();
  }

  private signNow(): void {
    try {
      this.acquire();
      this.release(true);
    } catch {
      this.mem = undefined;
      this.headStore.rollback();
    }
  }

  private acknowledge(receipt: AuditReceipt, resolve: (r: AuditReceipt) => void): void {
    this.undurable += 1;
    resolve(receipt);
  }

  /**
   * The checkpoint copied outside the audit directory must still be in the log: a log that lost it was rolled back
   * or deleted, and writing on would reuse its sequence numbers.
   */
  private checkAnchor(): void {
    const a = this.anchor?.read();
    if (!a) return;
    const mem = this.mem!;
    const at = a.seq > mem.seq ? undefined : a.seq === mem.seq ? mem.hash : hashAtSeq(this.dir, a.seq);
    if (at !== a.hash) {
      throw new AuditError(
        'audit.rolled_back',
        `the audit log (${mem.seq} events) no longer holds the checkpoint kept in ${this.anchor!.file} (seq ${a.seq}): it was rolled back, replaced or deleted; run 'gatehouse audit verify'`,
      );
    }
  }

  /**
   * Events after the last signed checkpoint were never signed by the audit key: a crash inside the signing window,
   * or lines someone appended. Signing them silently would launder them, so the chain first records that they were
   * found unsigned; the checkpoint then signs that statement, not an endorsement.
   */
  private markUnsignedTail(): void {
    if (!this.signer) return;
    const mem = this.mem!;
    const signedSeq = this.headStore.readSigned()?.seq ?? 0;
    const committed = this.headStore.read()?.seq ?? 0;
    const tornEvent = this.queue.length;
    const end = mem.seq - tornEvent;
    if (end <= signedSeq) return;
    this.sequence(
      {
        type: 'audit.unsigned_tail',
        actor: 'gatehouse',
        data: { from: signedSeq + 1, to: end, events: end - signedSeq, committedHead: committed, pid: process.pid },
      },
      true,
      noop,
      noop,
    );
  }

  /** Retries a failed log after a pause; on success the chain records the outage. */
  private tryRecover(): boolean {
    const failure = this.failure!;
    if (PERMANENT.has(failure.code) || this.clock.now() - this.failedAt < RETRY_AFTER_MS) return false;
    try {
      void this.fh?.close().catch(noop);
      this.fh = undefined;
      this.acquire();
    } catch (err) {
      this.fail(err);
      return false;
    }
    const since = new Date(this.failedAt).toISOString();
    this.failure = undefined;
    this.sequence(
      {
        type: 'audit.outage',
        actor: 'gatehouse',
        data: { code: failure.code, message: failure.message, since, refused: this.refused },
      },
      true,
      noop,
      noop,
    );
    this.refused = 0;
    return true;
  }

  private sequence(
    input: AuditEventInput,
    durable: boolean,
    resolve: (r: AuditReceipt) => void,
    reject: (e: Error) => void,
  ): AuditReceipt {
    const mem = this.mem!;
    const seq = mem.seq + 1;
    const scrubbed = this.scrub ? this.scrub(input) : input;
    const body = { ...scrubbed, seq, ts: new Date(this.clock.now()).toISOString(), prev: mem.hash };
    const canonical = canonicalize(body);
    const hash = createHash('sha256').update(mem.hash).update(canonical).digest('hex');
    const receipt = { seq, hash };
    this.queue.push({ line: `${canonical.slice(0, -1)},"hash":"${hash}"}\n`, receipt, durable, resolve, reject });
    mem.seq = seq;
    mem.hash = hash;
    return receipt;
  }

  /** Takes the lease (announcing ourselves if another process holds it) and loads and checks the head. */
  private acquire(checkHeadLine = false): void {
    if (!this.headStore.tryLock()) {
      const want = join(this.dir, `want-${process.pid}`);
      writeFileSync(want, '');
      try {
        this.headStore.lock();
      } finally {
        rmSync(want, { force: true });
      }
    }
    try {
      if (checkHeadLine) this.checkHeadLine();
      const torn = this.recover();
      this.mem = { ...this.currentHead() };
      this.leaseStart = this.clock.now();
      if (torn) this.sequence({ type: 'audit.torn_tail', actor: 'gatehouse', data: torn }, true, noop, noop);
    } catch (err) {
      this.mem = undefined;
      this.headStore.rollback();
      throw err;
    }
  }

  /**
   * Commits the head and hands back the lock. The head is signed at most every SIGN_EVERY_MS (and on close):
   * an Ed25519 signature per batch would sit on the decision path of every single-caller decision.
   */
  private release(forceSign = false): void {
    const mem = this.mem;
    this.mem = undefined;
    const committed = this.headStore.read();
    if (mem && (mem.seq !== committed?.seq || mem.offset !== committed.offset || mem.segment !== committed.segment)) {
      this.headStore.write({ ...mem, ts: new Date(this.clock.now()).toISOString(), kid: null, sig: null });
    }
    const head = mem ?? committed;
    const now = this.clock.now();
    let signed: SignedCheckpoint | undefined;
    if (this.signer && head && head.seq > 0 && (forceSign || now - this.lastSigned >= SIGN_EVERY_MS)) {
      if (this.headStore.readSigned()?.seq !== head.seq) {
        const ts = new Date(now).toISOString();
        signed = {
          seq: head.seq,
          hash: head.hash,
          ts,
          kid: this.signer.kid,
          sig: signCheckpoint({ seq: head.seq, hash: head.hash, ts }, this.signer),
        };
        this.headStore.writeSigned(signed);
      }
      this.lastSigned = now;
    }
    this.headStore.commit();
    // After the commit, outside the lease: the anchor may lag the head, it never runs ahead of it.
    if (signed) {
      this.anchor?.write(signed);
      this.onSigned?.(signed);
    }
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          await this.writeBatch(batch);
        } catch (err) {
          const e = this.fail(err);
          for (const p of batch) p.reject(e);
          this.dropQueue(e);
          return;
        }
        const others = this.othersWaiting();
        // Under sustained load the queue may never drain; drain it on purpose now and then so the signed head
        // keeps up with the log and other processes get their turn.
        if (others || this.clock.now() - this.leaseStart > LEASE_MAX_MS) this.yielding = true;
        if (this.queue.length === 0) {
          try {
            this.release();
          } catch (err) {
            this.dropQueue(this.fail(err));
            return;
          }
          if (this.yielding) {
            // Let a waiting process in before we take the lease again.
            if (others) await new Promise((r) => setTimeout(r, 2));
            this.yielding = false;
            const waiting = this.waiting;
            this.waiting = [];
            if (waiting.length > 0) {
              try {
                this.acquire();
              } catch (err) {
                const e = this.fail(err);
                for (const w of waiting) w.reject(e);
                return;
              }
              for (const w of waiting) {
                const receipt = this.sequence(w.input, w.durable, w.resolve, w.reject);
                if (!w.durable) this.acknowledge(receipt, w.resolve);
              }
            }
          }
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBatch(batch: Sequenced[]): Promise<void> {
    const mem = this.mem!;
    const data = Buffer.from(batch.map((b) => b.line).join(''), 'utf8');
    if (mem.offset > 0 && mem.offset + data.length > this.segmentMaxBytes) {
      mem.segment += 1;
      mem.offset = 0;
    }
    const fh = await this.handleFor(mem.segment);
    try {
      await fh.write(data, 0, data.length, null);
      await fh.datasync();
    } finally {
      for (const p of batch) if (!p.durable) this.undurable -= 1;
    }
    mem.offset += data.length;
    for (const p of batch) if (p.durable) p.resolve(p.receipt);
  }

  /**
   * After a write failure (a full disk, an I/O error) every append is refused, so every decision fails closed,
   * until a retry finds the log writable again (`tryRecover`). Tampering found on disk is never retried.
   */
  private fail(err: unknown): AuditError {
    this.mem = undefined;
    try {
      this.headStore.rollback();
    } catch {
      // The transaction is gone with the failed write; nothing to undo.
    }
    this.failedAt = this.clock.now();
    this.failure =
      err instanceof AuditError
        ? err
        : new AuditError('audit.write_failed', `audit write failed: ${describeError(err)}`, { cause: err });
    return this.failure;
  }

  private dropQueue(e: AuditError): void {
    for (const p of this.queue) {
      if (!p.durable) this.undurable -= 1;
      p.reject(e);
    }
    this.queue = [];
  }

  private othersWaiting(): boolean {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return false;
    }
    let waiting = false;
    for (const n of names) {
      if (!n.startsWith('want-')) continue;
      const pid = Number(n.slice(5));
      if (pid === process.pid) continue;
      if (isAlive(pid)) waiting = true;
      else rmSync(join(this.dir, n), { force: true });
    }
    return waiting;
  }

  private currentHead(): Checkpoint {
    return this.headStore.read() ?? { seq: 0, hash: GENESIS_HASH, segment: 1, offset: 0, ts: '', kid: null, sig: null };
  }

  private async handleFor(segment: number): Promise<FileHandle> {
    if (this.fh && this.fhSegment === segment) return this.fh;
    await this.fh?.close();
    const file = join(this.dir, segmentName(segment));
    this.fh = await open(file, 'a', 0o600);
    this.fhSegment = segment;
    syncDir(this.dir);
    return this.fh;
  }

  /** The committed last event must still hash to the committed head: a cheap guard against appending to an edited log. */
  private checkHeadLine(): void {
    const head = this.headStore.read();
    if (!head || head.seq === 0) return;
    const file = join(this.dir, segmentName(head.segment));
    const size = fileSize(file);
    if (size < head.offset) {
      throw new AuditError(
        'audit.truncated',
        `audit segment ${file} is shorter (${Math.max(size, 0)} bytes) than its committed head (${head.offset}); run 'gatehouse audit verify'`,
      );
    }
    const window = Math.min(head.offset, 1024 * 1024);
    const buf = Buffer.alloc(window);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buf, 0, window, head.offset - window);
    } finally {
      closeSync(fd);
    }
    const end = buf.length - 1;
    const start = buf.lastIndexOf(10, end - 1) + 1;
    const line = buf.subarray(start, end);
    const ok =
      buf[end] === 10 && line.toString('latin1', line.length - HASH_SUFFIX_LENGTH) === `,"hash":"${head.hash}"}`;
    if (
      !ok ||
      typeof checkEvent(line, head.seq, (JSON.parse(line.toString('utf8')) as { prev: string }).prev) === 'string'
    ) {
      throw new AuditError(
        'audit.tampered',
        `the last committed audit event (seq ${head.seq}) does not match the checkpoint; run 'gatehouse audit verify'`,
      );
    }
  }

  /**
   * Compares the segment files with the committed head. Complete, chain-valid lines past the head (a crash
   * between fdatasync and commit) are adopted; a torn last line is moved to `<segment>.torn-<offset>`;
   * a file shorter than the head or an invalid complete line means tampering and nothing more is written.
   */
  private recover(): Record<string, unknown> | undefined {
    const head = this.currentHead();
    if (
      fileSize(join(this.dir, segmentName(head.segment))) === head.offset &&
      fileSize(join(this.dir, segmentName(head.segment + 1))) < 0
    ) {
      return undefined;
    }
    let { seq, hash } = head;
    let segment = head.segment;
    let offset = head.offset;
    let torn: Record<string, unknown> | undefined;
    for (const s of listSegments(this.dir).filter((x) => x.n >= head.segment)) {
      const size = statSync(s.file).size;
      const start = s.n === head.segment ? head.offset : 0;
      if (size < start) {
        throw new AuditError(
          'audit.truncated',
          `audit segment ${s.file} is shorter (${size} bytes) than its committed head (${start}); run 'gatehouse audit verify'`,
        );
      }
      if (size === start) continue;
      const buf = readFileSync(s.file).subarray(start);
      let pos = 0;
      let bad: string | undefined;
      forEachLine(buf, (a, b, terminated) => {
        const line = buf.subarray(a, b);
        const checked = terminated ? checkEvent(line, seq + 1, hash) : undefined;
        const ev = typeof checked === 'object' ? checked : undefined;
        if (!ev) {
          if (!terminated && a + (b - a) === buf.length) {
            torn = {
              segment: s.n,
              offset: start + a,
              bytes: b - a,
              sha256: createHash('sha256').update(line).digest('hex'),
            };
          } else {
            bad = `seq ${seq + 1}`;
          }
          return false;
        }
        seq = ev.seq;
        hash = ev.hash;
        pos = b + 1;
        return true;
      });
      if (bad)
        throw new AuditError(
          'audit.tampered',
          `audit log is inconsistent at ${bad} in ${s.file}; run 'gatehouse audit verify'`,
        );
      segment = s.n;
      offset = start + pos;
      if (torn) {
        const tornFile = `${s.file}.torn-${offset}`;
        writeFileSync(tornFile, buf.subarray(pos), { mode: 0o600 });
        truncateSync(s.file, offset);
        break;
      }
    }
    if (seq !== head.seq || offset !== head.offset || segment !== head.segment) {
      this.headStore.write({
        seq,
        hash,
        segment,
        offset,
        ts: new Date(this.clock.now()).toISOString(),
        kid: null,
        sig: null,
      });
    }
    return torn;
  }
}

function noop(): void {}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the data itself is still fdatasynced.
  }
}
