import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { verifyCheckpoint } from './checkpoint.js';
import type { PublishedCheckpoint } from './publish.js';
import { type VerifyResult, type VerifyStatus, verifyLog } from './verify.js';

/** What `audit verify --all` found for one instance. `missing`: its log is gone, or it never published. */
export type InstanceStatus = VerifyStatus | 'missing' | 'forged_checkpoint';

export interface InstanceReport {
  instance: string;
  host?: string;
  dir?: string;
  ok: boolean;
  status: InstanceStatus;
  message: string;
  published?: { seq: number; ts: string; kid: string; signatureValid: boolean };
  /** The chain walk against the published checkpoint, when the log was there to walk. */
  log?: VerifyResult;
}

export interface InstancesReport {
  ok: boolean;
  instances: InstanceReport[];
}

export interface VerifyInstancesOptions {
  /** Looks up an audit public key by kid (the store's keyring), or a pinned key for every kid. */
  keyFor: (kid: string) => KeyObject | undefined;
  /** Where each instance's audit directory is here, when not at the path it published (logs copied off its host). */
  dirs?: ReadonlyMap<string, string>;
  /** Instances that must be present: one that never published is reported missing. */
  expect?: readonly string[];
  allowUnsignedTail?: boolean;
}

/**
 * Verifies every instance's log against its latest checkpoint published to the shared store: the published
 * checkpoint must verify with an audit key the store holds (a checkpoint forged or re-signed with another key
 * fails), and the log must hold it and chain up to it (an edited event, a deleted tail or a rolled-back directory
 * fails). A published instance whose log is gone, and an expected instance that never published, are missing.
 */
export function verifyInstances(
  published: readonly PublishedCheckpoint[],
  opts: VerifyInstancesOptions,
): InstancesReport {
  const out: InstanceReport[] = [];
  for (const p of published) out.push(verifyOne(p, opts));
  for (const id of opts.expect ?? []) {
    if (published.some((p) => p.instance === id)) continue;
    out.push({
      instance: id,
      ok: false,
      status: 'missing',
      message: `instance ${id} has no checkpoint in the store: it never published, or its record was deleted`,
    });
  }
  // Nothing published is nothing verified: a deleted table must not read as a clean deployment.
  return { ok: out.length > 0 && out.every((r) => r.ok), instances: out };
}

function verifyOne(p: PublishedCheckpoint, opts: VerifyInstancesOptions): InstanceReport {
  const key = opts.keyFor(p.kid);
  const signatureValid = key !== undefined && verifyCheckpoint(p, key);
  const dir = opts.dirs?.get(p.instance) ?? p.dir;
  const base = {
    instance: p.instance,
    host: p.host,
    dir,
    published: { seq: p.seq, ts: p.ts, kid: p.kid, signatureValid },
  };
  if (!signatureValid) {
    return {
      ...base,
      ok: false,
      status: 'forged_checkpoint',
      message: key
        ? `the checkpoint published for seq ${p.seq} does not verify with audit key ${p.kid}: forged or altered in the store`
        : `the checkpoint published for seq ${p.seq} names key ${p.kid.slice(0, 80)}, which is not an audit key of the store`,
    };
  }
  if (!existsSync(dir)) {
    return {
      ...base,
      ok: false,
      status: 'missing',
      message: `no audit log at ${dir}, but the instance published a signed checkpoint at seq ${p.seq}: the log was deleted or moved (pass --log ${p.instance}=DIR for a copy)`,
    };
  }
  const log = verifyLog(dir, {
    keyFor: opts.keyFor,
    witnesses: [{ seq: p.seq, hash: p.hash, ts: p.ts, kid: p.kid, sig: p.sig, source: 'the store' }],
    ...(opts.allowUnsignedTail ? { allowUnsignedTail: true } : {}),
  });
  return { ...base, ok: log.ok, status: log.status, message: log.message, log };
}
