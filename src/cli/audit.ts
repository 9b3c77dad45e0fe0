import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { readAnchor, SignedCheckpointSchema } from '../audit/anchor.js';
import { HeadStore } from '../audit/checkpoint.js';
import { type InstancesReport, verifyInstances } from '../audit/instances.js';
import { inclusionProof, leafHash, rootOf, verifyInclusion } from '../audit/merkle.js';
import { checkpointBody, signNote } from '../audit/note.js';
import { toOcsf } from '../audit/ocsf.js';
import { INSTANCE_RE, readPublished } from '../audit/publish.js';
import { type AuditQuery, queryLog, tailLog } from '../audit/query.js';
import { buildReport, FRAMEWORKS, type Framework, reportMarkdown } from '../audit/report.js';
import { type VerifyOptions, type VerifyResult, verifyLog, type Witness } from '../audit/verify.js';
import { loadConfigFile } from '../config/load.js';
import { StoreSchema } from '../config/sections/store.js';
import { InputError, NotFoundError } from '../core/errors.js';
import { MasterKey } from '../core/masterkey.js';
import { buildDigest, digestMarkdown } from '../monitor/digest.js';
import { Keyring, publicKeysOf } from '../store/keyring.js';
import { openStore, sharedStoreUrl } from '../store/open.js';
import type { Store } from '../store/store.js';
import { action, EXIT, globalOptions, printJson } from './common.js';

function auditDir(cmd: Command): string {
  const data = resolve(globalOptions(cmd).data);
  const dir = join(data, 'audit');
  if (!existsSync(dir)) throw new InputError('--data', `no audit log in ${data} (run 'gatehouse init')`);
  return dir;
}

/**
 * How `verifyLog` checks the signed head: with the key pinned by --pubkey, else with the audit keys the store holds
 * (read up front, so the store is not held open while the log is walked).
 */
async function verifyOptions(cmd: Command, pubkeyFile?: string): Promise<VerifyOptions> {
  if (pubkeyFile) return { publicKey: createPublicKey(readFileSync(pubkeyFile, 'utf8')) };
  const keys = await auditKeys(cmd);
  return { keyFor: (kid) => keys.get(kid) };
}

async function auditKeys(cmd: Command): Promise<Map<string, KeyObject>> {
  const store = await configuredStore(cmd);
  if (!store) return new Map();
  try {
    return await publicKeysOf(store, 'audit');
  } finally {
    await store.close();
  }
}

/**
 * The store the gateway's keys are in: the database the config (or GATEHOUSE_DATABASE_URL) names, else the data
 * directory's SQLite file when there is one. A configured database is never replaced by the local file.
 */
async function configuredStore(cmd: Command): Promise<Store | undefined> {
  const g = globalOptions(cmd);
  const data = resolve(g.data);
  const cfg = existsSync(g.config) ? loadConfigFile(resolve(g.config)).store : StoreSchema.parse({});
  if (sharedStoreUrl(cfg) !== undefined) return openStore(cfg, data);
  return existsSync(join(data, 'gatehouse.db')) ? openStore(cfg, data) : undefined;
}

/** The latest signed checkpoint of the log. */
function latestSigned(dir: string) {
  const headFile = join(dir, 'head.sqlite');
  if (!existsSync(headFile)) return undefined;
  const hs = new HeadStore(headFile, true);
  try {
    return hs.readSigned();
  } finally {
    hs.close();
  }
}

const WitnessFileSchema = SignedCheckpointSchema.extend({
  format: z.literal('gatehouse-audit-witness/1'),
  pubkey: z.string().max(4096).optional(),
}).strict();

/**
 * Checkpoints kept outside the audit directory: the copy in the store (written by the log itself) and any
 * `--witness` files exported earlier with `gatehouse audit witness`.
 */
function witnessesFor(cmd: Command, files: string[]): Witness[] {
  const out: Witness[] = [];
  const dbFile = join(resolve(globalOptions(cmd).data), 'gatehouse.db');
  const stored = existsSync(dbFile) ? readAnchor(dbFile) : undefined;
  if (stored) out.push({ ...stored, source: 'gatehouse.db' });
  for (const f of files) {
    let parsed: z.infer<typeof WitnessFileSchema>;
    try {
      parsed = WitnessFileSchema.parse(JSON.parse(readFileSync(f, 'utf8')));
    } catch (err) {
      throw new InputError('--witness', `${f} is not a gatehouse audit witness: ${(err as Error).message}`);
    }
    const { format: _f, pubkey: _p, ...cp } = parsed;
    out.push({ ...cp, source: f });
  }
  return out;
}

/** 0 verified; 3 tampered, truncated, rolled back or torn; 4 an unsigned tail (nothing forged, nothing vouched). */
function verifyExit(r: VerifyResult): number {
  if (r.ok) return EXIT.ok;
  return r.status === 'unsigned_tail' ? EXIT.review : EXIT.denied;
}

/** 0 when every instance verifies; 3 on any tamper, rollback, forged checkpoint or missing log; else 4 (unsigned tails). */
function verifyAllExit(r: InstancesReport): number {
  if (r.ok) return EXIT.ok;
  return r.instances.length > 0 && r.instances.every((i) => i.ok || i.status === 'unsigned_tail')
    ? EXIT.review
    : EXIT.denied;
}

/** `--log ID=DIR` pairs: where an instance's audit directory is on this host (a copy fetched from its own). */
function parseLogDirs(pairs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of pairs) {
    const eq = p.indexOf('=');
    const id = p.slice(0, eq);
    if (eq < 0 || !INSTANCE_RE.test(id) || eq === p.length - 1)
      throw new InputError('--log', `expected INSTANCE=DIR with an instance id like gw-0123456789ab, got "${p}"`);
    out.set(id, resolve(p.slice(eq + 1)));
  }
  return out;
}

/** Every gateway's log against its checkpoint published to the shared store. */
async function verifyAll(
  cmd: Command,
  opts: { json?: boolean; pubkey?: string; log?: string[]; expect?: string[]; allowUnsignedTail?: boolean },
): Promise<number> {
  for (const id of opts.expect ?? [])
    if (!INSTANCE_RE.test(id)) throw new InputError('--expect', `"${id}" is not an instance id`);
  const dirs = parseLogDirs(opts.log ?? []);
  const store = await configuredStore(cmd);
  if (!store) throw new InputError('--data', 'no store to read published checkpoints from (run gatehouse init)');
  let published: Awaited<ReturnType<typeof readPublished>>;
  let keys: Map<string, KeyObject>;
  try {
    published = await readPublished(store);
    keys = await publicKeysOf(store, 'audit');
  } finally {
    await store.close();
  }
  const pinned = opts.pubkey ? createPublicKey(readFileSync(opts.pubkey, 'utf8')) : undefined;
  const r = verifyInstances(published, {
    keyFor: (kid) => pinned ?? keys.get(kid),
    dirs,
    ...(opts.expect ? { expect: opts.expect } : {}),
    ...(opts.allowUnsignedTail ? { allowUnsignedTail: true } : {}),
  });
  if (opts.json) printJson(r);
  else {
    for (const i of r.instances) {
      const where = i.host ? ` (${i.host}:${i.dir})` : '';
      process.stdout.write(`${i.ok ? 'ok' : i.status.replace('_', ' ')}: ${i.instance}${where}: ${i.message}\n`);
    }
    if (r.instances.length === 0) process.stderr.write('gatehouse: no instance has published an audit checkpoint\n');
    else if (!r.ok) {
      const bad = r.instances.filter((i) => !i.ok).map((i) => `${i.instance} ${i.status}`);
      process.stderr.write(
        `gatehouse: ${bad.length} of ${r.instances.length} audit logs do not verify: ${bad.join(', ')}\n`,
      );
    }
  }
  return verifyAllExit(r);
}

function parseTime(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) throw new InputError(flag, `expected an ISO time or epoch milliseconds, got "${v}"`);
  return t;
}

interface FilterOptions {
  agent?: string;
  type?: string;
  session?: string;
  since?: string;
  until?: string;
  limit?: string;
}

function withFilters(cmd: Command): Command {
  return cmd
    .option('--agent <id>')
    .option('--type <type>', 'event type or dotted prefix (identity matches identity.token_issued)')
    .option('--session <id>')
    .option('--since <time>', 'ISO time or epoch ms')
    .option('--until <time>', 'ISO time or epoch ms')
    .option('--limit <n>', 'at most this many (the newest)');
}

function queryFrom(opts: FilterOptions): AuditQuery {
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
  return q;
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('walk the hash chain and the signed checkpoint; exit 3 naming the first bad sequence number')
    .option('--json', 'print the result as JSON')
    .option('--pubkey <file>', 'verify the checkpoint signature with this PEM public key instead of the stored one')
    .option(
      '--witness <file...>',
      "a checkpoint exported earlier with 'audit witness': the log must still hold it (catches rollback and deletion)",
    )
    .option('--allow-unsigned-tail', 'accept events after the last signed checkpoint (exit 0 instead of 4)')
    .option('--all', "every gateway's log against the checkpoint it published to the shared store, one line each")
    .option(
      '--log <instance=dir...>',
      "with --all: an instance's audit directory here, instead of the path it published",
    )
    .option('--expect <instance...>', 'with --all: instances that must be present (one that never published fails)')
    .action(
      action(
        async (
          opts: {
            json?: boolean;
            pubkey?: string;
            witness?: string[];
            allowUnsignedTail?: boolean;
            all?: boolean;
            log?: string[];
            expect?: string[];
          },
          cmd: Command,
        ) => {
          if (opts.all) {
            if (opts.witness) throw new InputError('--witness', 'checks one log; it does not go with --all');
            return verifyAll(cmd, opts);
          }
          if (opts.log || opts.expect) throw new InputError(opts.log ? '--log' : '--expect', 'needs --all');
          const witnesses = witnessesFor(cmd, opts.witness ?? []);
          // With a checkpoint kept elsewhere, a missing audit directory is a deleted log, not a usage error.
          const dir = witnesses.length > 0 ? join(resolve(globalOptions(cmd).data), 'audit') : auditDir(cmd);
          const r = verifyLog(dir, {
            ...(await verifyOptions(cmd, opts.pubkey)),
            witnesses,
            ...(opts.allowUnsignedTail ? { allowUnsignedTail: true } : {}),
          });
          if (opts.json) printJson(r);
          else if (r.ok) process.stdout.write(`ok: ${r.message}\n`);
          else {
            process.stderr.write(
              `gatehouse: audit log ${r.status.replace('_', ' ')} at seq ${r.firstBadSeq ?? '?'}: ${r.message}${
                r.location ? ` (${r.location.file}:${r.location.line})` : ''
              }\n`,
            );
          }
          return verifyExit(r);
        },
      ),
    );
  audit
    .command('witness')
    .description('export the latest signed checkpoint, to keep off-host and check later with verify --witness')
    .requiredOption('--out <file>', 'where to write the witness (JSON)')
    .option('--pubkey <file>', 'check the checkpoint with this PEM public key instead of the stored one')
    .action(
      action(async (opts: { out: string; pubkey?: string }, cmd: Command) => {
        const dir = auditDir(cmd);
        const r = verifyLog(dir, { ...(await verifyOptions(cmd, opts.pubkey)), allowUnsignedTail: true });
        const cp = latestSigned(dir);
        if (!r.ok || !cp || r.checkpoint?.signatureValid !== true) {
          process.stderr.write(`gatehouse: no verified signed checkpoint to export: ${r.message}\n`);
          return EXIT.denied;
        }
        const key = (await auditKeys(cmd)).get(cp.kid);
        const witness = {
          format: 'gatehouse-audit-witness/1' as const,
          ...cp,
          ...(key ? { pubkey: key.export({ type: 'spki', format: 'pem' }).toString() } : {}),
        };
        writeFileSync(opts.out, `${JSON.stringify(witness, null, 2)}\n`, { mode: 0o600 });
        process.stdout.write(`witness: seq ${cp.seq} signed by ${cp.kid} written to ${opts.out}\n`);
        return EXIT.ok;
      }),
    );
  audit
    .command('pubkey')
    .description('print the public key that signed the latest checkpoint (PEM), to pin off-host for verify --pubkey')
    .option('--json', 'print {kid, pem} as JSON')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const kid = latestSigned(auditDir(cmd))?.kid;
        const key = kid ? (await auditKeys(cmd)).get(kid) : undefined;
        if (!kid || !key) throw new NotFoundError('a signed audit checkpoint whose key the store holds');
        const pem = key.export({ type: 'spki', format: 'pem' }).toString();
        if (opts.json) printJson({ kid, pem });
        else process.stdout.write(pem);
        return EXIT.ok;
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
  withFilters(audit.command('query').description('events by agent, type (or dotted prefix), session and time range'))
    .option('--json', 'print {events:[…]} as one JSON object')
    .action(
      action(async (opts: FilterOptions & { json?: boolean }, cmd: Command) => {
        const events = queryLog(auditDir(cmd), queryFrom(opts));
        if (opts.json) printJson({ events });
        else for (const e of events) printJson(e);
        return 0;
      }),
    );
  withFilters(audit.command('export').description('export events as JSON lines, raw or mapped to OCSF 1.3 classes'))
    .option('--format <format>', 'jsonl or ocsf', 'jsonl')
    .action(
      action(async (opts: FilterOptions & { format: string }, cmd: Command) => {
        if (opts.format !== 'jsonl' && opts.format !== 'ocsf')
          throw new InputError('--format', `expected jsonl or ocsf, got "${opts.format}"`);
        for (const e of queryLog(auditDir(cmd), queryFrom(opts))) printJson(opts.format === 'ocsf' ? toOcsf(e) : e);
        return 0;
      }),
    );
  audit
    .command('prove <seq>')
    .description('RFC 6962 inclusion proof of one event in the Merkle tree of the whole log, with a signed checkpoint')
    .option('--json', 'print the proof as one JSON object')
    .action(
      action(async (seqText: string, opts: { json?: boolean }, cmd: Command) => {
        const seq = Number(seqText);
        if (!Number.isInteger(seq) || seq < 1)
          throw new InputError('seq', `expected a positive whole number, got "${seqText}"`);
        const dir = auditDir(cmd);
        const check = verifyLog(dir, { ...(await verifyOptions(cmd)), allowUnsignedTail: true });
        if (!check.ok)
          throw new InputError('audit log', `cannot prove inclusion in a log that does not verify: ${check.message}`);
        const events = queryLog(dir);
        const event = events[seq - 1];
        if (!event || event.seq !== seq) throw new NotFoundError(`event ${seq}`);
        const leaves = events.map((e) => leafHash(e.hash));
        const root = rootOf(leaves);
        const proof = inclusionProof(leaves, seq - 1);
        if (!verifyInclusion(leaves[seq - 1]!, seq - 1, leaves.length, proof, root))
          throw new Error('internal: proof does not verify');
        const data = resolve(globalOptions(cmd).data);
        const store = (await configuredStore(cmd)) ?? (await openStore(StoreSchema.parse({}), data));
        let note: string;
        try {
          const keyring = new Keyring(store, MasterKey.fromEnvOrFile(join(data, 'master.key')), {
            now: () => Date.now(),
          });
          const key = await keyring.ensure('audit');
          note = signNote(
            checkpointBody(leaves.length, root),
            'gatehouse',
            await keyring.privateKey(key.kid),
            key.publicKey,
          );
        } finally {
          await store.close();
        }
        const out = {
          seq,
          eventHash: event.hash,
          leafIndex: seq - 1,
          treeSize: leaves.length,
          leafHash: leaves[seq - 1]!.toString('hex'),
          rootHash: root.toString('hex'),
          proof: proof.map((p) => p.toString('hex')),
          checkpoint: note,
        };
        if (opts.json) printJson(out);
        else
          process.stdout.write(
            `${note}\nseq ${seq} is leaf ${seq - 1} of ${leaves.length}; proof: ${out.proof.join(' ')}\n`,
          );
        return 0;
      }),
    );
  audit
    .command('report')
    .description('compliance evidence report (SOC 2, ISO 27001, GDPR, HIPAA, PCI DSS) built from the audit log')
    .requiredOption('--framework <name>', FRAMEWORKS.join(', '))
    .option('--since <time>', 'ISO time or epoch ms')
    .option('--until <time>', 'ISO time or epoch ms')
    .option('--format <format>', 'json or md', 'md')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(
      action(
        async (
          opts: { framework: string; since?: string; until?: string; format: string; out?: string },
          cmd: Command,
        ) => {
          if (!(FRAMEWORKS as readonly string[]).includes(opts.framework)) {
            throw new InputError('--framework', `expected one of ${FRAMEWORKS.join(', ')}, got "${opts.framework}"`);
          }
          if (opts.format !== 'json' && opts.format !== 'md')
            throw new InputError('--format', `expected json or md, got "${opts.format}"`);
          const dir = auditDir(cmd);
          const q = queryFrom({
            ...(opts.since ? { since: opts.since } : {}),
            ...(opts.until ? { until: opts.until } : {}),
          });
          const report = buildReport(
            opts.framework as Framework,
            queryLog(dir, q),
            verifyLog(dir, { ...(await verifyOptions(cmd)), allowUnsignedTail: true }),
            {
              ...(q.since !== undefined ? { since: q.since } : {}),
              ...(q.until !== undefined ? { until: q.until } : {}),
            },
            new Date(),
          );
          const text = opts.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : reportMarkdown(report);
          if (opts.out) writeFileSync(opts.out, text);
          else process.stdout.write(text);
          return report.integrity.ok ? 0 : EXIT.denied;
        },
      ),
    );
  audit
    .command('digest')
    .description('the weekly review: blocked attacks, approvals, anomalies, new tools and pin changes over a period')
    .option('--since <period>', 'how far back: 7d, 24h, 90m, or an ISO time / epoch ms', '7d')
    .option('--json', 'print the digest as JSON instead of Markdown')
    .action(
      action(async (opts: { since: string; json?: boolean }, cmd: Command) => {
        const until = Date.now();
        const rel = /^(\d{1,5})([dhm])$/.exec(opts.since);
        const since = rel
          ? until - Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as 'd' | 'h' | 'm']
          : parseTime(opts.since, '--since')!;
        const digest = buildDigest(queryLog(auditDir(cmd), { since, until }), { since, until });
        if (opts.json) printJson(digest);
        else process.stdout.write(digestMarkdown(digest));
        return 0;
      }),
    );
}
