import type { Migration } from '../store/store.js';

/**
 * The identity component's tables. Every row another process must notice (agents, revoked tokens,
 * revoked certificates) carries `seq` from `identity_seq`, bumped in the same transaction, so a process
 * catches up by reading only the rows above the last `seq` it saw.
 */
export const IDENTITY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'agents, tokens, certificates',
    sql: `
      CREATE TABLE identity_seq (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
      INSERT INTO identity_seq (id, seq) VALUES (1, 0);
      CREATE TABLE identity_agents (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        status_reason TEXT,
        roles TEXT NOT NULL,
        description TEXT,
        source TEXT NOT NULL,
        key_alg TEXT,
        public_pem TEXT,
        jkt TEXT,
        key_origin TEXT,
        sealed_private BLOB,
        generation INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        rotated_at INTEGER,
        next_rotation_at INTEGER,
        expires_at INTEGER,
        seq INTEGER NOT NULL
      );
      CREATE INDEX identity_agents_seq ON identity_agents (seq);
      CREATE TABLE identity_access_tokens (
        jti TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        family TEXT,
        session TEXT,
        method TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        exp INTEGER NOT NULL
      );
      CREATE INDEX identity_access_tokens_agent ON identity_access_tokens (agent);
      CREATE INDEX identity_access_tokens_family ON identity_access_tokens (family);
      CREATE INDEX identity_access_tokens_exp ON identity_access_tokens (exp);
      CREATE TABLE identity_revoked_tokens (
        jti TEXT PRIMARY KEY,
        agent TEXT,
        exp INTEGER NOT NULL,
        revoked_at INTEGER NOT NULL,
        reason TEXT,
        seq INTEGER NOT NULL
      );
      CREATE INDEX identity_revoked_tokens_seq ON identity_revoked_tokens (seq);
      CREATE INDEX identity_revoked_tokens_exp ON identity_revoked_tokens (exp);
      CREATE TABLE identity_refresh_families (
        family TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        session TEXT,
        jkt TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        revoked_reason TEXT
      );
      CREATE INDEX identity_refresh_families_agent ON identity_refresh_families (agent);
      CREATE TABLE identity_refresh_tokens (
        hash TEXT PRIMARY KEY,
        family TEXT NOT NULL REFERENCES identity_refresh_families (family) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      );
      CREATE INDEX identity_refresh_tokens_family ON identity_refresh_tokens (family);
      CREATE TABLE identity_assertions (
        jti_hash TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        exp INTEGER NOT NULL
      );
      CREATE INDEX identity_assertions_exp ON identity_assertions (exp);
      CREATE TABLE identity_certs (
        serial TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        agent TEXT,
        pem TEXT NOT NULL,
        key_id TEXT,
        fingerprint TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        issued_at INTEGER NOT NULL,
        revoked_at INTEGER,
        revoked_reason TEXT,
        seq INTEGER NOT NULL
      );
      CREATE INDEX identity_certs_agent ON identity_certs (agent, not_after);
      CREATE INDEX identity_certs_kind ON identity_certs (kind, not_after);
      CREATE INDEX identity_certs_seq ON identity_certs (seq);
    `,
  },
  {
    // Proof-of-possession nonces, shared by every gateway on the store: issued on one, usable once on any.
    version: 2,
    name: 'pop nonces',
    sql: `
      CREATE TABLE identity_pop_nonces (
        nonce TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        pool TEXT NOT NULL,
        exp INTEGER NOT NULL,
        used INTEGER NOT NULL
      );
      CREATE INDEX identity_pop_nonces_pool ON identity_pop_nonces (pool, used, exp);
      CREATE INDEX identity_pop_nonces_exp ON identity_pop_nonces (exp);
    `,
  },
];
