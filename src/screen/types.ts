/** Rule families. Each finding names one; reasons carry it as `screen.<category>.<rule>`. */
export const CATEGORIES = [
  'override',
  'impersonation',
  'extraction',
  'jailbreak',
  'exfiltration',
  'tool_manipulation',
  'addressed_to_ai',
  'envelope',
  'pressure',
  'output_forcing',
  'multilingual',
  'obfuscation',
  'session',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** A named, normalised rendering of the input. Rules run on every view; the maximum counts. */
export type ViewName = 'canonical' | 'skeleton' | 'deleet' | 'collapsed' | 'decoded' | 'rot13' | 'hidden';

export type ScreenAction = 'allow' | 'review' | 'block';

/** One rule that matched. `evidence` is a short excerpt (at most 80 characters), never the whole input. */
export interface Finding {
  rule: string;
  category: Category;
  /** The rule's weight, 0..10. */
  score: number;
  message: string;
  evidence: string;
  view: ViewName;
  /**
   * False when the matched text is talked about rather than aimed at the model (quoted in text about
   * attacks, given as an example, a string literal in code); such findings count for less.
   */
  addressed?: boolean;
  /** Why `addressed` was decided as it was. */
  addressedReason?: string;
  /** For frame findings: the word classes and words that made the frame, typos shown corrected. */
  explanation?: string;
}

/** What the normaliser noticed while building the views: each is also a signal in itself. */
export interface NormalizationFlags {
  /** Unicode tag characters decoded back to ASCII (ASCII smuggling). */
  tagChars: number;
  zeroWidth: number;
  bidi: number;
  /** Variation selectors outside ordinary emoji presentation, including byte-smuggling runs. */
  variationSelectors: number;
  /** Words mixing Latin with Cyrillic or Greek look-alikes. */
  mixedScript: number;
  /** Encoded segments (base64, base32, hex, percent, entities, quoted-printable) decoded. */
  decodedSegments: number;
  /** Hidden channels (HTML comments, alt text, invisible CSS, link titles) extracted. */
  hiddenChannels: number;
}

export interface ScreenResult {
  /** 0..10: the highest window score over all views, plus obfuscation signals. */
  score: number;
  action: ScreenAction;
  findings: Finding[];
  flags: NormalizationFlags;
  /** Views that were built and scored (beyond `canonical`, only those that differ). */
  views: ViewName[];
  /** True when the input was longer than the configured cap and only its head and tail were screened. */
  truncated: boolean;
  /**
   * Whether the strongest findings are instructions aimed at the model. False for text that only
   * quotes or discusses attacks (security news, docs, test suites): a pipeline can label it rather than block.
   */
  addressed: boolean;
  addressedReason: string;
}
