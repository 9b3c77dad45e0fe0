import { StoreError } from '../core/errors.js';
import type { Migration } from './store.js';

/** The migrations sorted by version, refused unless they are numbered 1..n. */
export function orderedMigrations(component: string, migrations: readonly Migration[]): Migration[] {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new StoreError(`${component} migrations must be numbered 1..n; found ${m.version} at ${i + 1}`);
  });
  return sorted;
}

/**
 * A migration written in the portable subset, as PostgreSQL runs it. Components write their DDL once with
 * SQLite's type names; the only differences that subset has are the column types, translated here word by word:
 * `INTEGER` holds millisecond timestamps and counters, so it is `BIGINT`; `BLOB` is `BYTEA`; `REAL` is
 * `DOUBLE PRECISION`. Anything else must be written out in the migration's `postgres` field.
 */
export function postgresDdl(m: Migration): string {
  if (m.postgres !== undefined) return m.postgres;
  return m.sql
    .replace(/\bINTEGER\b/g, 'BIGINT')
    .replace(/\bBLOB\b/g, 'BYTEA')
    .replace(/\bREAL\b/g, 'DOUBLE PRECISION');
}

/**
 * A statement with `?` placeholders rewritten to PostgreSQL's `$n`. Question marks inside string literals,
 * quoted identifiers and comments are left alone.
 */
export function postgresPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closing(sql, i, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      const end = nl < 0 ? sql.length : nl;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '?') {
      out += `$${++n}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function closing(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}
