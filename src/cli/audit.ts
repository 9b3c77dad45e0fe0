import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { HeadStore } from '../audit/checkpoint.js';
import { type AuditQuery, queryLog, tailLog } from '../audit/query.js';
import { verifyLog } from '../audit/verify.js';
import { InputError } from '../core/errors.js';
import { publicKeyOf } from '../store/keyring.js';
import { SqliteStore } from '../store/sqlite.js';
import { action, EXIT, globalOptions, printJson } from './common.js';

function auditDir(cmd: Command): string {
  const data = resolve(globalOptions(cmd).data);
  const dir = join(data, 'audit');
  if (!existsSync(dir)) throw new InputError('--data', `no audit log in ${data} (run 'gatehouse init')`);
  return dir;
}

/** The key that signed the head: pinned with --pubkey, else the audit key recorded in the store. */
function checkpointKey(cmd: Command, dir: string, pubkeyFile: string | undefined): KeyObject | undefined {
  if (pubkeyFile) return createPublicKey(readFileSync(pubkeyFile, 'utf8'));
  const headFile = join(dir, 'head.sqlite');
  if (!existsSync(headFile)) return undefined;
  const hs = new HeadStore(headFile, true);
  const kid = hs.read()?.kid;
  hs.close();
  const dbFile = join(resolve(globalOptions(cmd).data), 'gatehouse.db');
  if (!kid || !existsSync(dbFile)) return undefined;
  const store = new SqliteStore(dbFile);
  try {
    return publicKeyOf(store, kid);
  } finally {
    store.close();
  }
}

function parseTime(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) throw new InputError(flag, `expected an ISO time or epoch milliseconds, got "${v}"`);
  return t;
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('walk the hash chain and the signed checkpoint; exit 3 naming the first bad sequence number')
    .option('--json', 'print the result as JSON')
    .option('--pubkey <file>', 'verify the checkpoint signature with this PEM public key instead of the stored one')
    .action(
      action(async (opts: { json?: boolean; pubkey?: string }, cmd: Command) => {
        const dir = auditDir(cmd);
        const publicKey = checkpointKey(cmd, dir, opts.pubkey);
        const r = verifyLog(dir, publicKey ? { publicKey } : {});
        if (opts.json) printJson(r);
        else if (r.ok) process.stdout.write(`ok: ${r.message}\n`);
        else {
          process.stderr.write(
            `gatehouse: audit log ${r.status.replace('_', ' ')} at seq ${r.firstBadSeq ?? '?'}: ${r.message}${
              r.location ? ` (${r.location.file}:${r.location.line})` : ''
            }\n`,
          );
        }
        return r.ok ? EXIT.ok : EXIT.denied;
      }),
    );
  audit
    .command('tail')
    .description('print the last events, one JSON object per line')
    .option('-n, --lines <n>', 'how many events', '20')
    .option('--json', 'print {events:[…]} as one JSON object')
    .action(
      action(async (opts: { lines: string; json?: boolean }, cmd: Command) => {
        const n = Number(opts.lines);
        if (!Number.isInteger(n) || n < 1)
          throw new InputError('--lines', `expected a positive whole number, got "${opts.lines}"`);
        const events = tailLog(auditDir(cmd), n);
        if (opts.json) printJson({ events });
        else for (const e of events) printJson(e);
        return 0;
      }),
    );
  audit
    .command('query')
    .description('events by agent, type (or dotted prefix), session and time range')
    .option('--agent <id>')
    .option('--type <type>')
    .option('--session <id>')
    .option('--since <time>', 'ISO time or epoch ms')
    .option('--until <time>', 'ISO time or epoch ms')
    .option('--limit <n>', 'at most this many (the newest)')
    .option('--json', 'print {events:[…]} as one JSON object')
    .action(
      action(
        async (
          opts: {
            agent?: string;
            type?: string;
            session?: string;
            since?: string;
            until?: string;
            limit?: string;
            json?: boolean;
          },
          cmd: Command,
        ) => {
          const q: AuditQuery = {};
          if (opts.agent) q.agent = opts.agent;
          if (opts.type) q.type = opts.type;
          if (opts.session) q.session = opts.session;
          const since = parseTime(opts.since, '--since');
          const until = parseTime(opts.until, '--until');
          if (since !== undefined) q.since = since;
          if (until !== undefined) q.until = until;
          if (opts.limit !== undefined) {
            const n = Number(opts.limit);
            if (!Number.isInteger(n) || n < 1)
              throw new InputError('--limit', `expected a positive whole number, got "${opts.limit}"`);
            q.limit = n;
          }
          const events = queryLog(auditDir(cmd), q);
          if (opts.json) printJson({ events });
          else for (const e of events) printJson(e);
          return 0;
        },
      ),
    );
}
