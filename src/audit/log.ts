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
import { join } from 'node:path';
import { canonicalize } from '../core/canonical.js';
import { type Clock, systemClock } from '../core/clock.js';
import { AuditError, describeError } from '../core/errors.js';
import { type Checkpoint, type CheckpointSigner, HeadStore, signCheckpoint } from './checkpoint.js';
import { type AuditEventInput, GENESIS_HASH, HASH_SUFFIX_LENGTH } from './event.js';
import { forEachLine, listSegments, segmentName } from './segments.js';
import { checkEvent } from './verify.js';

export interface AuditLogOptions {
  dir: string;
  clock?: Clock;
  signer?: CheckpointSigner;
  segmentMaxBytes?: number;
  maxBatch?: number;
  /** Last-line defence applied to every event before it is hashed (e.g. a secret scrubber). */
  scrub?: (e: AuditEventInput) => AuditEventInput;
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

  private constructor(opts: AuditLogOptions) {
    this.dir = opts.dir;
    this.clock = opts.clock ?? systemClock;
    this.signer = opts.signer;
    this.segmentMaxBytes = opts.segmentMaxBytes ?? 64 * 1024 * 1024;
    this.maxBatch = opts.maxBatch ?? 4096;
    this.scrub = opts.scrub;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.headStore = new HeadStore(join(this.dir, 'head.sqlite'));
  }

  /** Opens (creating if needed) the log in `dir` and recovers a tail left by a crash. */
  static open(opts: AuditLogOptions): AuditLog {
    const log = new AuditLog(opts);
    try {
      log.acquire(true);
      if (log.queue.length > 0) log.flushing = log.flushLoop();
      else log.release();
    } catch (err) {
      log.headStore.close();
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
    if (this.failure) return Promise.reject(this.failure);
    if (!TYPE_RE.test(input.type)) {
      return Promise.reject(new AuditError('audit.invalid_event', `invalid audit event type "${input.type}"`));
    }
    const durable = opts.durable ?? true;
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
      if (!durable) resolve(receipt);
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  /** Resolves when everything appended so far is durable. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  head(): Checkpoint | undefined {
    return this.mem ?? this.headStore.read();
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.signer && !this.failure) {
      // Sign whatever the log holds now, so a closed log always ends at a signed checkpoint.
      try {
        this.acquire();
        this.release(true);
      } catch {
        this.headStore.rollback();
      }
    }
    this.closed = true;
    await this.fh?.close();
    this.fh = undefined;
    this.headStore.close();
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
    if (this.signer && head && head.seq > 0 && (forceSign || now - this.lastSigned >= SIGN_EVERY_MS)) {
      if (this.headStore.readSigned()?.seq !== head.seq) {
        const ts = new Date(now).toISOString();
        this.headStore.writeSigned({
          seq: head.seq,
          hash: head.hash,
          ts,
          kid: this.signer.kid,
          sig: signCheckpoint({ seq: head.seq, hash: head.hash, ts }, this.signer),
        });
      }
      this.lastSigned = now;
    }
    this.headStore.commit();
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          await this.writeBatch(batch);
        } catch (err) {
          const e = this.fail(err);
          for (const p of [...batch, ...this.queue]) p.reject(e);
          this.queue = [];
          return;
        }
        const others = this.othersWaiting();
        // Under sustained load the queue may never drain; drain it on purpose now and then so the signed head
        // keeps up with the log and other processes get their turn.
        if (others || this.clock.now() - this.leaseStart > LEASE_MAX_MS) this.yielding = true;
        if (this.queue.length === 0) {
          this.release();
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
                if (!w.durable) w.resolve(receipt);
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
    await fh.write(data, 0, data.length, null);
    await fh.datasync();
    mem.offset += data.length;
    for (const p of batch) if (p.durable) p.resolve(p.receipt);
  }

  /** After a write failure nothing more is accepted: every later decision fails closed. */
  private fail(err: unknown): AuditError {
    this.mem = undefined;
    this.headStore.rollback();
    this.failure =
      err instanceof AuditError
        ? err
        : new AuditError('audit.write_failed', `audit write failed: ${describeError(err)}`);
    return this.failure;
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
