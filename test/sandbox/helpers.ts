import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEventInput } from '../../src/audit/event.js';
import { type SandboxConfig, SandboxSchema } from '../../src/config/sections/sandbox.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';

export const SANDBOX_UID = 65534;

/** Records audit events in memory. */
export class MemoryAudit {
  events: AuditEventInput[] = [];
  async append(e: AuditEventInput): Promise<void> {
    this.events.push(structuredClone(e));
  }
}

const dirs: string[] = [];

/** A temp directory the sandbox uid owns (the workspace of a run). */
export function workspace(): string {
  const d = mkdtempSync(join(tmpdir(), 'gh-sbx-ws-'));
  if (process.getuid?.() === 0) chownSync(d, SANDBOX_UID, SANDBOX_UID);
  dirs.push(d);
  return d;
}

/** A temp directory owned by the caller. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gh-sbx-'));
  dirs.push(d);
  return d;
}

export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function sandboxConfig(input: Record<string, unknown> = {}): SandboxConfig {
  return SandboxSchema.parse(input);
}

export function makeSandbox(
  input: Record<string, unknown> = {},
  audit = new MemoryAudit(),
): { sb: Sandbox; audit: MemoryAudit } {
  return { sb: createSandbox(sandboxConfig(input), { audit }), audit };
}

/** Processes on the host whose command line contains `needle`. */
export function hostProcesses(needle: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push(Number(p));
    } catch {
      // exited
    }
  }
  return out;
}
