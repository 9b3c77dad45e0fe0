import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';

const WORKER = fileURLToPath(new URL('../fixtures/gateway-worker.ts', import.meta.url));

export class GatewayCallError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** A gateway process on the shared PostgreSQL store, driven over IPC. */
export class GatewayProcess {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    /** The gateway's data directory (its audit log, instance id); removed by `stop` unless kept. */
    readonly dataDir: string,
    private readonly cleanup: () => void,
  ) {
    child.on(
      'message',
      (m: { id: number; ok: boolean; result?: unknown; error?: { message: string; code?: string } }) => {
        const w = this.waiting.get(m.id);
        if (!w) return;
        this.waiting.delete(m.id);
        if (m.ok) w.resolve(m.result);
        else w.reject(new GatewayCallError(`${name}: ${m.error?.message}`, m.error?.code));
      },
    );
    child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`${name} exited (${code})`));
      this.waiting.clear();
    });
  }

  static async start(
    name: string,
    opts: { url: string; masterKey: string; config: Record<string, unknown>; data?: string },
  ): Promise<GatewayProcess> {
    // A given data directory is the test's: reopening a gateway on it (a restart) must not remove it on stop.
    const t = opts.data ? { dir: opts.data, cleanup: () => undefined } : tempDir();
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, GATEHOUSE_DATABASE_URL: opts.url, GATEHOUSE_MASTER_KEY: opts.masterKey },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const g = new GatewayProcess(name, child, t.dir, t.cleanup);
    try {
      await g.send({ op: 'open', config: opts.config, data: t.dir });
    } catch (err) {
      // A gateway that refuses to open must not outlive the test.
      child.kill();
      t.cleanup();
      throw err;
    }
    return g;
  }

  private send(msg: Record<string, unknown>): Promise<unknown> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ ...msg, id });
    });
  }

  call<T = unknown>(path: string, ...args: unknown[]): Promise<T> {
    return this.send({ op: 'call', path, args }) as Promise<T>;
  }

  /** Closes the gateway and ends the process; `keepData` leaves the data directory for the test to inspect. */
  async stop(opts: { keepData?: boolean } = {}): Promise<void> {
    if (this.child.exitCode === null) {
      await this.send({ op: 'close' }).catch(() => undefined);
      this.child.kill();
    }
    if (!opts.keepData) this.cleanup();
  }

  /** Removes the data directory of a gateway stopped with `keepData`. */
  removeData(): void {
    this.cleanup();
  }
}

export function sharedMasterKey(): string {
  return randomBytes(32).toString('hex');
}
