import { type KeyObject, sign, verify } from 'node:crypto';
import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';

/** A signed statement of the log's size and last hash; the anchor that survives an attacker without the key. */
export interface SignedCheckpoint {
  seq: number;
  hash: string;
  ts: string;
  kid: string;
  sig: string;
}

/** The committed head of the log: where the next batch goes, and the anchor that makes a truncated tail detectable. */
export interface Checkpoint {
  seq: number;
  hash: string;
  segment: number;
  offset: number;
  ts: string;
  kid: string | null;
  sig: string | null;
}

export interface CheckpointSigner {
  kid: string;
  privateKey: KeyObject;
}

/** The exact bytes a checkpoint signature covers. */
export function checkpointMessage(c: Pick<Checkpoint, 'seq' | 'hash' | 'ts'>): Buffer {
  return Buffer.from(`gatehouse-audit-checkpoint\n${c.seq}\n${c.hash}\n${c.ts}\n`, 'utf8');
}

export function signCheckpoint(c: Pick<Checkpoint, 'seq' | 'hash' | 'ts'>, signer: CheckpointSigner): string {
  return sign(null, checkpointMessage(c), signer.privateKey).toString('base64');
}

export function verifyCheckpoint(c: SignedCheckpoint, publicKey: KeyObject): boolean {
  if (!c.sig) return false;
  try {
    return verify(null, checkpointMessage(c), publicKey, Buffer.from(c.sig, 'base64'));
  } catch {
    return false;
  }
}

type Db = InstanceType<typeof Database>;

/**
 * The head database (`audit/head.sqlite`). Its write lock is also the cross-process append lock:
 * the CLI and a running gateway can both append to one chain, one batch at a time.
 */
export class HeadStore {
  private readonly db: Db;
  private readonly readStmt;
  private readonly writeStmt;

  constructor(
    file: string,
    readonly readonly = false,
  ) {
    this.db = new Database(file, { readonly, fileMustExist: readonly });
    if (!readonly) {
      chmodSync(file, 0o600);
      this.db.pragma('journal_mode = WAL');
      // The segment file is the truth and is fdatasynced first; the head may lag it after power loss,
      // which recovery handles by adopting the valid tail.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 10000');
      this.db.exec(`CREATE TABLE IF NOT EXISTS head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL, hash TEXT NOT NULL, segment INTEGER NOT NULL, offset INTEGER NOT NULL,
        ts TEXT NOT NULL, kid TEXT, sig TEXT
      );
      CREATE TABLE IF NOT EXISTS signed (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL, hash TEXT NOT NULL, ts TEXT NOT NULL, kid TEXT NOT NULL, sig TEXT NOT NULL
      )`);
    }
    this.readStmt = this.db.prepare('SELECT seq, hash, segment, offset, ts, kid, sig FROM head WHERE id = 1');
    this.writeStmt = readonly
      ? undefined
      : this.db.prepare(
          `INSERT INTO head (id, seq, hash, segment, offset, ts, kid, sig) VALUES (1, @seq, @hash, @segment, @offset, @ts, @kid, @sig)
           ON CONFLICT(id) DO UPDATE SET seq = @seq, hash = @hash, segment = @segment, offset = @offset, ts = @ts, kid = @kid, sig = @sig`,
        );
  }

  read(): Checkpoint | undefined {
    return this.readStmt.get() as Checkpoint | undefined;
  }

  readSigned(): SignedCheckpoint | undefined {
    try {
      return this.db.prepare('SELECT seq, hash, ts, kid, sig FROM signed WHERE id = 1').get() as
        | SignedCheckpoint
        | undefined;
    } catch {
      return undefined;
    }
  }

  writeSigned(c: SignedCheckpoint): void {
    this.db
      .prepare(
        `INSERT INTO signed (id, seq, hash, ts, kid, sig) VALUES (1, @seq, @hash, @ts, @kid, @sig)
         ON CONFLICT(id) DO UPDATE SET seq = @seq, hash = @hash, ts = @ts, kid = @kid, sig = @sig`,
      )
      .run(c);
  }

  /** Takes the cross-process write lock if it is free; false when another process holds it. */
  tryLock(): boolean {
    this.db.pragma('busy_timeout = 0');
    try {
      this.db.exec('BEGIN IMMEDIATE');
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') return false;
      throw err;
    } finally {
      this.db.pragma('busy_timeout = 10000');
    }
  }

  /** Takes the cross-process write lock, waiting up to the busy timeout. */
  lock(): void {
    this.db.exec('BEGIN IMMEDIATE');
  }

  get locked(): boolean {
    return this.db.inTransaction;
  }

  write(c: Checkpoint): void {
    this.writeStmt?.run(c);
  }

  commit(): void {
    if (this.db.inTransaction) this.db.exec('COMMIT');
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  close(): void {
    this.rollback();
    this.db.close();
  }
}
