import type { Clock } from '../core/clock.js';
import type { MasterKey } from '../core/masterkey.js';
import type { Store } from '../store/store.js';
import { CREDENTIAL_NAME, CredentialError, type CredentialInfo, type WritableCredentialBackend } from './backend.js';

interface Row {
  name: string;
  agents: string;
  tools: string;
  sealed: Buffer;
  created_at: number;
  updated_at: number;
}

const MAX_VALUE_BYTES = 64 * 1024;

/**
 * The local credential vault: values sealed with AES-256-GCM under the master key (`MasterKey.seal`, the
 * credential name bound as associated data so a sealed value cannot be moved to another name), scope kept
 * beside them. Values never leave except through `reveal`, which only the broker calls.
 */
export class LocalVault implements WritableCredentialBackend {
  readonly name = 'vault';

  /** The vault kept in `store`, whose table is migrated here. */
  static async open(store: Store, master: MasterKey, clock: Clock): Promise<LocalVault> {
    await store.migrate('credentials', [
      {
        version: 1,
        name: 'credentials vault',
        sql: `CREATE TABLE credentials (
          name TEXT PRIMARY KEY,
          agents TEXT NOT NULL,
          tools TEXT NOT NULL,
          sealed BLOB NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL
        )`,
      },
    ]);
    return new LocalVault(store, master, clock);
  }

  private constructor(
    private readonly store: Store,
    private readonly master: MasterKey,
    private readonly clock: Clock,
  ) {}

  async put(name: string, value: string, scope: { agents: string[]; tools: string[] }): Promise<CredentialInfo> {
    if (!CREDENTIAL_NAME.test(name))
      throw new CredentialError(
        'credentials.name_invalid',
        name,
        `credential name '${name}' may use only letters, digits and _ . -`,
      );
    if (value.length === 0)
      throw new CredentialError('credentials.value_empty', name, `credential ${name}: the value is empty`);
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES)
      throw new CredentialError('credentials.value_too_large', name, `credential ${name}: the value exceeds 64 KiB`);
    const now = this.clock.now();
    const sealed = this.master.seal(Buffer.from(value, 'utf8'), context(name));
    const agents = JSON.stringify(scope.agents);
    const tools = JSON.stringify(scope.tools);
    await this.store.run(
      `INSERT INTO credentials (name, agents, tools, sealed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET agents = excluded.agents, tools = excluded.tools, sealed = excluded.sealed, updated_at = excluded.updated_at`,
      [name, agents, tools, sealed, now, now],
    );
    return (await this.info(name))!;
  }

  async remove(name: string): Promise<boolean> {
    return (await this.store.run('DELETE FROM credentials WHERE name = ?', [name])).changes > 0;
  }

  async list(): Promise<CredentialInfo[]> {
    const rows = await this.store.all<Row>(
      'SELECT name, agents, tools, created_at, updated_at FROM credentials ORDER BY name',
    );
    return rows.map(toInfo);
  }

  async info(name: string): Promise<CredentialInfo | undefined> {
    const row = await this.store.get<Row>(
      'SELECT name, agents, tools, created_at, updated_at FROM credentials WHERE name = ?',
      [name],
    );
    return row ? toInfo(row) : undefined;
  }

  async reveal(name: string): Promise<string | undefined> {
    const row = await this.store.get<Pick<Row, 'sealed'>>('SELECT sealed FROM credentials WHERE name = ?', [name]);
    if (!row) return undefined;
    return this.master.open(row.sealed, context(name)).toString('utf8');
  }
}

function context(name: string): string {
  return `gatehouse.credential:${name}`;
}

function toInfo(r: Omit<Row, 'sealed'>): CredentialInfo {
  return {
    name: r.name,
    backend: 'vault',
    agents: JSON.parse(r.agents) as string[],
    tools: JSON.parse(r.tools) as string[],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
