import type { Finding, RedactionMode, Redactor } from './redact.js';

export interface StreamOptions {
  destination?: string;
  mode?: RedactionMode;
  /** Already-emitted text kept as context for `name = value` rules whose value arrives in a later chunk. */
  context?: number;
  /** Longest unfinished token held back before it is flushed (redacted as a whole if it is still a finding). */
  maxHold?: number;
}

/**
 * Streaming redaction for chunked output. Text is emitted only up to the last whitespace, so a token split
 * across chunks is always scanned whole; an unterminated PEM block or markdown link is held until it closes.
 * Holdback is bounded by `maxHold`; past it the held text is scanned and emitted as it stands.
 *
 * @example
 * const s = new StreamRedactor(redactor, { destination: 'chat' });
 * for await (const chunk of llm) process.stdout.write(s.push(chunk));
 * process.stdout.write(s.end());
 */
export class StreamRedactor {
  private pending = '';
  private context = '';
  private readonly ctxLen: number;
  private readonly maxHold: number;
  /** Every finding so far, offsets relative to the whole stream. */
  readonly findings: Finding[] = [];
  private emittedRaw = 0;

  constructor(
    private readonly redactor: Redactor,
    private readonly opts: StreamOptions = {},
  ) {
    this.ctxLen = opts.context ?? 512;
    this.maxHold = opts.maxHold ?? 64 * 1024;
  }

  push(chunk: string): string {
    this.pending += chunk;
    let cut = safeCut(this.pending);
    if (this.pending.length - cut > this.maxHold) cut = this.pending.length;
    return cut > 0 ? this.emit(cut) : '';
  }

  end(): string {
    return this.pending.length > 0 ? this.emit(this.pending.length) : '';
  }

  private emit(cut: number): string {
    const head = this.pending.slice(0, cut);
    const text = this.context + head;
    const from = this.context.length;
    const findings = this.redactor.scan(text, { destination: this.opts.destination ?? 'chat' });
    const mode = this.opts.mode ?? this.redactor.policy(this.opts.destination).mode;
    const out = this.redactor.apply(text, findings, mode, from);
    for (const f of findings) {
      if (f.end > from)
        this.findings.push({
          ...f,
          start: this.emittedRaw + Math.max(0, f.start - from),
          end: this.emittedRaw + (f.end - from),
        });
    }
    this.emittedRaw += head.length;
    this.context = text.slice(-this.ctxLen);
    this.pending = this.pending.slice(cut);
    return out;
  }
}

/**
 * Where emission may stop: after the last whitespace, before an unterminated PEM block or markdown link/image.
 */
function safeCut(s: string): number {
  let cut = s.length;
  let i = cut - 1;
  while (i >= 0 && !/\s/.test(s[i]!)) i--;
  cut = i + 1;
  const begin = s.lastIndexOf('-----BEGIN');
  if (begin >= 0 && begin < cut && !/-----END[ A-Z0-9_-]{0,100}-----/.test(s.slice(begin, cut))) cut = begin;
  const md = s.lastIndexOf('](');
  const close = md >= 0 ? s.indexOf(')', md) : -1;
  if (md >= 0 && md < cut && (close < 0 || close >= cut)) {
    const open = s.lastIndexOf('[', md);
    cut = Math.min(cut, open > 0 && s[open - 1] === '!' ? open - 1 : Math.max(0, open));
  }
  return cut;
}
