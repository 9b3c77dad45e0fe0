import { createHmac, randomBytes } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { type KnownMatcher, KnownSecrets } from '../core/known-secrets.js';
import { findUrls } from '../core/urls.js';
import { DEFAULT_DECODE_LIMITS, type DecodedRun, type DecodeLimits, decodeRuns } from './decode.js';
import { SecretEngine } from './engine.js';
import { checkUrls, hostAllowed, mayHaveLookup } from './exfil.js';
import { PII_KINDS, type PiiKind, scanPii } from './rules/pii.js';

export type FindingCategory = 'secret' | 'pii' | 'known_secret' | 'exfil';
/** redact: replaced in the output; warn: reported only; block: replaced, and a tool call carrying it is denied. */
export type FindingAction = 'redact' | 'warn' | 'block';
export type RedactionMode = 'label' | 'partial' | 'hmac';
export type GenericTierAction = 'redact' | 'warn' | 'off';

/** One finding: what and where, never the value. */
export interface Finding {
  kind: string;
  category: FindingCategory;
  start: number;
  end: number;
  action: FindingAction;
  ruleId?: string;
  /** An offline check (checksum, JWT header) confirmed the structure. */
  verified?: boolean;
  /** Set when the value was found inside an encoded run (base64, hex, percent, \u escapes). */
  encoding?: string;
  /** The generic keyword = high-entropy tier, as opposed to a documented token format. */
  generic?: boolean;
}

export interface RedactionResult {
  redacted: string;
  findings: Finding[];
  /** True when a finding must stop a tool call (exfiltration, a known secret). */
  blocked: boolean;
}

/** How one destination (chat, tool_args, tool_result, http, log …) is filtered. */
export interface DestinationPolicy {
  pii: readonly PiiKind[];
  generic: GenericTierAction;
  mode: RedactionMode;
}

export interface RedactorOptions {
  secrets?: boolean;
  /** PII kinds redacted where a destination does not say otherwise. */
  pii?: readonly PiiKind[];
  destinations?: Record<string, Partial<DestinationPolicy>>;
  mode?: RedactionMode;
  /** Key for `hmac` mode; a random per-process key when absent (correlates within one process only). */
  hmacKey?: Uint8Array;
  allowDomains?: readonly string[];
  phoneRegion?: CountryCode;
  decode?: { depth?: number } & Partial<DecodeLimits>;
  known?: KnownMatcher;
  engine?: SecretEngine;
}

export interface RedactCallOptions {
  destination?: string;
  /** Overrides for this call only. */
  mode?: RedactionMode;
}

/** Chat text only warns on the generic tier; arguments and bodies are machine-read and redacted. */
const GENERIC_DEFAULTS: Record<string, GenericTierAction> = { chat: 'warn', output: 'warn', log: 'redact' };

/** Commands that resolve host names: DNS exfiltration needs no URL. */
const LOOKUP_COMMAND = /\b(?:nslookup|dig|host|drill|ping6?|getent|resolvectl)\s/;

const SEVERITY: Record<FindingCategory, number> = { known_secret: 4, secret: 3, exfil: 2, pii: 1 };

let sharedEngine: SecretEngine | undefined;

/** The rule table compiled once per process: compiling 290 rules and their automaton takes a few milliseconds. */
export function defaultEngine(): SecretEngine {
  sharedEngine ??= new SecretEngine();
  return sharedEngine;
}

/**
 * Secret, PII and exfiltration filtering of text.
 *
 * @example
 * const r = new Redactor({ pii: ['email'], allowDomains: ['github.com'] });
 * r.redact('mail me at a@b.example, key ghp_…', { destination: 'chat' }).redacted;
 * // 'mail me at [REDACTED:email], key [REDACTED:github-pat]'
 */
export class Redactor {
  readonly engine: SecretEngine;
  readonly known: KnownMatcher;
  private readonly opts: RedactorOptions;
  private readonly hmacKey: Uint8Array;
  private readonly allow: readonly string[];
  private readonly decodeDepth: number;
  private readonly decodeLimits: DecodeLimits;
  private readonly policies = new Map<string, DestinationPolicy & { piiSet: ReadonlySet<PiiKind> }>();

  constructor(opts: RedactorOptions = {}) {
    this.opts = opts;
    this.engine = opts.engine ?? defaultEngine();
    this.known = opts.known ?? new KnownSecrets();
    this.hmacKey = opts.hmacKey ?? randomBytes(32);
    this.allow = opts.allowDomains ?? [];
    this.decodeDepth = Math.min(2, Math.max(0, opts.decode?.depth ?? 2));
    this.decodeLimits = { ...DEFAULT_DECODE_LIMITS, ...opts.decode };
  }

  policy(destination = 'chat'): DestinationPolicy & { piiSet: ReadonlySet<PiiKind> } {
    let p = this.policies.get(destination);
    if (!p) {
      const d = this.opts.destinations?.[destination] ?? {};
      const pii = d.pii ?? this.opts.pii ?? [];
      p = {
        pii,
        piiSet: new Set(pii),
        generic: d.generic ?? GENERIC_DEFAULTS[destination] ?? 'redact',
        mode: d.mode ?? this.opts.mode ?? 'label',
      };
      this.policies.set(destination, p);
    }
    return p;
  }

  /** Finds everything to filter in `text` for a destination, without changing it. */
  scan(text: string, call: RedactCallOptions = {}): Finding[] {
    const policy = this.policy(call.destination);
    const findings: Finding[] = [];
    this.scanPlain(text, policy, findings, 0, undefined);
    const scanned = this.opts.secrets !== false;
    const lookup = scanned ? this.engine.sawLookup : mayHaveLookup(text);
    const runs =
      this.decodeDepth > 0 ? decodeRuns(text, this.decodeLimits, scanned ? this.engine.lastRuns : undefined) : [];
    if (runs.length > 0) this.scanDecoded(runs, policy, findings, 1);
    const urls = findUrls(text);
    if (urls.length > 0 || (lookup && LOOKUP_COMMAND.test(text))) {
      this.scanUrls(text, urls, runs, findings, call.destination ?? 'chat', lookup);
    }
    return resolveOverlaps(findings);
  }

  /** Redacts `text` for a destination. */
  redact(text: string, call: RedactCallOptions = {}): RedactionResult {
    const findings = this.scan(text, call);
    const mode = call.mode ?? this.policy(call.destination).mode;
    return {
      redacted: this.apply(text, findings, mode),
      findings,
      blocked: findings.some((f) => f.action === 'block'),
    };
  }

  /** Rewrites `text` with the replacements for `findings` (which must not overlap), from offset `from` on. */
  apply(text: string, findings: readonly Finding[], mode: RedactionMode, from = 0): string {
    let out = '';
    let at = from;
    for (const f of findings) {
      if (f.action === 'warn' || f.end <= from) continue;
      const s = Math.max(f.start, from);
      out += text.slice(at, s) + this.replacement(text.slice(f.start, f.end), f, mode);
      at = f.end;
    }
    return out + text.slice(at);
  }

  private replacement(value: string, f: Finding, mode: RedactionMode): string {
    if (f.category === 'exfil' || mode === 'label') return `[REDACTED:${f.kind}]`;
    if (mode === 'partial') {
      const alnum = value.replace(/[^A-Za-z0-9]/g, '');
      return alnum.length >= 12 ? `[REDACTED:${f.kind}:…${alnum.slice(-4)}]` : `[REDACTED:${f.kind}]`;
    }
    const mac = createHmac('sha256', this.hmacKey).update(f.kind).update('\0').update(value).digest('hex').slice(0, 16);
    return `[REDACTED:${f.kind}:${mac}]`;
  }

  private scanPlain(
    text: string,
    policy: DestinationPolicy & { piiSet: ReadonlySet<PiiKind> },
    out: Finding[],
    offset: number,
    encoding: string | undefined,
  ): number {
    const before = out.length;
    const enc = encoding ? { encoding } : {};
    for (const k of this.known.find(text)) {
      out.push({
        kind: 'known_secret',
        category: 'known_secret',
        ruleId: `known:${k.name}`,
        start: k.start + offset,
        end: k.end + offset,
        action: 'block',
        ...enc,
      });
    }
    if (this.opts.secrets !== false) {
      for (const h of this.engine.scan(text, { generic: policy.generic !== 'off' })) {
        const generic = h.tier === 'generic';
        out.push({
          kind: h.ruleId,
          category: 'secret',
          ruleId: h.ruleId,
          start: h.start + offset,
          end: h.end + offset,
          action: generic && policy.generic === 'warn' ? 'warn' : 'redact',
          ...(h.verified ? { verified: true } : {}),
          ...(generic ? { generic: true } : {}),
          ...enc,
        });
      }
    }
    for (const p of scanPii(text, {
      kinds: policy.piiSet,
      ...(this.opts.phoneRegion ? { defaultCountry: this.opts.phoneRegion } : {}),
    })) {
      out.push({
        kind: p.kind,
        category: 'pii',
        start: p.start + offset,
        end: p.end + offset,
        action: 'redact',
        ...enc,
      });
    }
    return out.length - before;
  }

  /** Decodes encoded runs (bounded) and re-scans them; a hit inside marks the whole encoded run. */
  private scanDecoded(
    runs: DecodedRun[],
    policy: DestinationPolicy & { piiSet: ReadonlySet<PiiKind> },
    out: Finding[],
    depth: number,
  ): void {
    for (const run of runs) {
      const inner: Finding[] = [];
      this.scanPlain(run.decoded, policy, inner, 0, run.encoding);
      if (depth < this.decodeDepth)
        this.scanDecoded(decodeRuns(run.decoded, this.decodeLimits), policy, inner, depth + 1);
      const real = inner.filter((f) => f.action !== 'warn' || f.category !== 'secret');
      if (real.length === 0) continue;
      real.sort((a, b) => SEVERITY[b.category] - SEVERITY[a.category]);
      const top = real[0]!;
      out.push({
        ...top,
        start: run.start,
        end: run.end,
        encoding: run.encoding,
        action: top.action === 'warn' ? 'redact' : top.action,
      });
    }
  }

  private scanUrls(
    text: string,
    urls: ReturnType<typeof findUrls>,
    runs: DecodedRun[],
    out: Finding[],
    destination: string,
    lookup: boolean,
  ): void {
    for (const issue of checkUrls(text, urls, this.allow, lookup)) {
      out.push({
        kind: issue.kind,
        category: 'exfil',
        start: issue.start,
        end: issue.end,
        action: 'block',
        ruleId: `exfil.${issue.kind}`,
      });
    }
    // A finding (or an encoded payload) inside the data part of a URL to a host not on the allowlist is a leak
    // in transit: the whole URL is blocked, not just the value.
    const machine = destination !== 'chat' && destination !== 'output';
    // Findings by start, with the smallest end from each index on: "a finding starts in the data part and ends
    // by the URL's end" is one binary search per URL instead of a pass over all findings.
    const carriers = out.filter((f) => f.category !== 'exfil').sort((a, b) => a.start - b.start);
    const minEnd = new Array<number>(carriers.length + 1);
    minEnd[carriers.length] = Number.POSITIVE_INFINITY;
    for (let i = carriers.length - 1; i >= 0; i--) minEnd[i] = Math.min(carriers[i]!.end, minEnd[i + 1]!);
    for (const u of urls) {
      if (hostAllowed(u.host, this.allow)) continue;
      let lo = 0;
      let hi = carriers.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (carriers[mid]!.start < u.dataStart) lo = mid + 1;
        else hi = mid;
      }
      const carried = minEnd[lo]! <= u.end + 8;
      if (carried)
        out.push({
          kind: 'exfil_url',
          category: 'exfil',
          start: u.start,
          end: u.end,
          action: 'block',
          ruleId: 'exfil.finding_in_url',
        });
    }
    // Encoded text sent alongside a request to an unknown host (a POST body, a form field).
    const external = urls.some((u) => !hostAllowed(u.host, this.allow));
    if (external) {
      for (const run of runs) {
        if (run.encoding !== 'base64' || run.decoded.length < 16) continue;
        if (urls.some((u) => run.start >= u.start && run.end <= u.end)) continue;
        out.push({
          kind: 'exfil_payload',
          category: 'exfil',
          start: run.start,
          end: run.end,
          action: machine ? 'block' : 'warn',
          ruleId: 'exfil.encoded_payload',
        });
      }
    }
  }
}

/** Sorts findings and resolves overlaps: the more severe (then the longer) finding wins the span. */
export function resolveOverlaps(findings: Finding[]): Finding[] {
  if (findings.length <= 1) return findings;
  const rank = (f: Finding): number =>
    (f.action === 'block' ? 100 : 0) + (f.action === 'warn' ? -50 : 0) + SEVERITY[f.category] * 10;
  const sorted = [...findings].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Finding[] = [];
  // The open group: the finding that carries it, its span, and whether anything merged into it. One object is
  // built per group (not per overlap), so a text of thousands of overlapping findings stays cheap.
  let win: Finding | undefined;
  let winRank = 0;
  let start = 0;
  let end = 0;
  let merged = false;
  const close = (): void => {
    if (win) out.push(merged ? { ...win, start, end } : win);
  };
  for (const f of sorted) {
    if (!win || f.start >= end) {
      close();
      win = f;
      winRank = rank(f);
      start = f.start;
      end = f.end;
      merged = false;
      continue;
    }
    // Overlap: merge into one span carried by the higher-ranked finding.
    const r = rank(f);
    if (r > winRank) {
      win = f;
      winRank = r;
    }
    start = Math.min(start, f.start);
    end = Math.max(end, f.end);
    merged = true;
  }
  close();
  return out;
}

export { PII_KINDS, type PiiKind };
