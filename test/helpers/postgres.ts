import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A real PostgreSQL server for tests, started from the machine's PostgreSQL binaries (Debian's `postgresql`
 * package, which `npm test` installs) in a temporary directory on a free loopback port. Never a mock.
 */
export interface PgServer {
  url: string;
  port: number;
  /** Kills the server abruptly (SIGKILL): what an outage looks like to the gateways. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, 'initdb'))) return dir;
  throw new Error(
    'PostgreSQL server binaries (initdb, postgres) not found: install them with `apt-get install -y postgresql` (npm test does this as root)',
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** initdb refuses to run as root: run the server as the `postgres` system user (or `nobody`) then. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      // try the next user
    }
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

export async function startPostgres(opts: { durable?: boolean } = {}): Promise<PgServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'gh-pg-'));
  const data = join(dir, 'data');
  const as = runAs();
  if (as) chownSync(dir, as.uid, as.gid);
  const spawnOpts = as ? { uid: as.uid, gid: as.gid } : {};
  execFileSync(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'gatehouse', '-E', 'UTF8', '--no-sync'], {
    ...spawnOpts,
    stdio: 'pipe',
  });
  const port = await freePort();
  const url = `postgres://gatehouse@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'];
    args.push('-c', 'max_connections=300');
    // fsync off only: a killed server keeps what the OS has (the outage tests kill it); commits stay synchronous.
    if (!opts.durable) args.push('-c', 'fsync=off', '-c', 'full_page_writes=off');
    const proc = spawn(join(bin, 'postgres'), args, { ...spawnOpts, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr?.on('data', (b: Buffer) => {
      log = (log + b.toString()).slice(-4000);
    });
    child = proc;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`postgres exited (${proc.exitCode}): ${log}`);
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
      try {
        await c.connect();
        await c.end();
        return;
      } catch {
        await c.end().catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 20 s: ${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const waitExit = (p: ChildProcess): Promise<void> =>
    p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));

  const kill = async (): Promise<void> => {
    const p = child;
    child = undefined;
    if (!p) return;
    p.kill('SIGKILL');
    await waitExit(p);
    // SIGKILL leaves the postmaster's children running until they notice; wait for the port to be free.
    for (let i = 0; i < 100; i++) {
      if (!existsSync(join(dir, `.s.PGSQL.${port}`)) && !existsSync(join(data, 'postmaster.pid'))) break;
      try {
        const pid = Number(
          execFileSync('head', ['-1', join(data, 'postmaster.pid')], { encoding: 'utf8', stdio: 'pipe' }).trim(),
        );
        if (pid) process.kill(pid, 0);
      } catch {
        rmSync(join(data, 'postmaster.pid'), { force: true });
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stop = async (): Promise<void> => {
    const p = child;
    child = undefined;
    if (p) {
      p.kill('SIGINT');
      await waitExit(p);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  await start();
  process.once('exit', () => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return { url, port, kill, start, stop };
}

let schemaSeq = 0;
/** A fresh schema name, unique per process and call: one isolated Gatehouse store inside the shared server. */
export function freshSchema(prefix = 't'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${++schemaSeq}`;
}
