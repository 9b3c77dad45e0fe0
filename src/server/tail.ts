import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { AuditEvent } from '../audit/event.js';
import { listSegments } from '../audit/segments.js';

export type Listener = (ev: AuditEvent) => void;

/** Lines longer than this are skipped: no audit event comes near it, and a reader must not buffer without bound. */
const MAX_LINE = 4 * 1024 * 1024;

/**
 * Follows the audit log's segment files, so events appended by ANY process on the data dir (the CLI, another
 * gateway) reach live subscribers. It polls file sizes (one stat per interval) only while someone listens, and
 * reads only the new bytes: idle it costs nothing, busy it costs one read per interval.
 */
export class AuditTail {
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private segment = 0;
  private offset = 0;
  private partial: Buffer = Buffer.alloc(0);
  private lastSeq = 0;

  constructor(
    private readonly dir: string,
    private readonly intervalMs = 200,
  ) {}

  /** Subscribes from the current end of the log; returns the unsubscribe function. */
  subscribe(fn: Listener): () => void {
    if (this.listeners.size === 0) this.start();
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Reads whatever was appended since the last poll; called by the timer, and directly by tests. */
  poll(): void {
    const segs = listSegments(this.dir);
    for (const s of segs) {
      if (s.n < this.segment) continue;
      if (s.n > this.segment) {
        this.segment = s.n;
        this.offset = 0;
        this.partial = Buffer.alloc(0);
      }
      this.readFrom(s.file);
    }
  }

  private start(): void {
    const segs = listSegments(this.dir);
    const last = segs.at(-1);
    this.segment = last?.n ?? 1;
    this.offset = last ? size(last.file) : 0;
    this.partial = Buffer.alloc(0);
    this.timer = setInterval(() => this.poll(), this.intervalMs);
    this.timer.unref();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private readFrom(file: string): void {
    const end = size(file);
    // Recovery moved a torn tail aside: continue from the new end.
    if (end < this.offset) {
      this.offset = end;
      this.partial = Buffer.alloc(0);
    }
    if (end === this.offset) return;
    const buf = Buffer.alloc(end - this.offset);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset = end;
    let data = this.partial.length > 0 ? Buffer.concat([this.partial, buf]) : buf;
    let start = 0;
    for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
      this.emitLine(data.toString('utf8', start, nl));
      start = nl + 1;
    }
    data = data.subarray(start);
    this.partial = data.length > MAX_LINE ? Buffer.alloc(0) : Buffer.from(data);
  }

  private emitLine(line: string): void {
    let ev: AuditEvent;
    try {
      ev = JSON.parse(line) as AuditEvent;
    } catch {
      return;
    }
    if (typeof ev.seq !== 'number' || ev.seq <= this.lastSeq) return;
    this.lastSeq = ev.seq;
    for (const fn of this.listeners) fn(ev);
  }
}

function size(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
