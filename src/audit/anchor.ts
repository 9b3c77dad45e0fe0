import Database from 'better-sqlite3';
import { z } from 'zod';
import type { SignedCheckpoint } from './checkpoint.js';

const META_KEY = 'audit.checkpoint';

export const SignedCheckpointSchema = z
  .object({
    seq: z.number().int().positive(),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    ts: z.string().min(1).max(64),
    kid: z.string().min(1).max(200),
    sig: z.string().min(1).max(200),
  })
  .strict();

/**
 * A copy of the latest signed checkpoint in the main store (`gatehouse.db`, table `meta`): deleting or rolling back
 * the audit directory alone no longer yields a log that verifies. Writes are monotonic (a lower seq never replaces
 * a higher one) and best effort: a busy or full store leaves the anchor lagging, never ahead of the log.
 */
export class AnchorStore {
  private readonly db: InstanceType<typeof Database>;

  constructor(readonly file: string) {
    this.db = new Database(file, { fileMustExist: true });
    this.db.pragma('busy_timeout = 2000');
  }

  read(): SignedCheckpoint | undefined {
    return readAnchorFrom(this.db);
  }

  write(c: SignedCheckpoint): void {
    try {
      // Read, compare and write under one write lock, so a concurrent writer cannot slip a higher seq in between.
      this.db
        .transaction(() => {
          const current = readAnchorFrom(this.db);
          if (current && current.seq >= c.seq) return;
          this.db
            .prepare(
              'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
            )
            .run(META_KEY, JSON.stringify(c));
        })
        .immediate();
    } catch {
      // Best effort by design (see above); the next signed checkpoint catches up.
    }
  }

  close(): void {
    this.db.close();
  }
}

/** The anchored checkpoint of a store file, if it has one; a malformed anchor is an error, not an absence. */
export function readAnchor(file: string): SignedCheckpoint | undefined {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return readAnchorFrom(db);
  } finally {
    db.close();
  }
}

function readAnchorFrom(db: InstanceType<typeof Database>): SignedCheckpoint | undefined {
  let row: { value: string } | undefined;
  try {
    row = db.prepare('SELECT value FROM meta WHERE key = ?').get(META_KEY) as { value: string } | undefined;
  } catch {
    return undefined; // no meta table: not a gatehouse store (yet)
  }
  if (!row) return undefined;
  return SignedCheckpointSchema.parse(JSON.parse(row.value));
}
