/** Families, for documentation and per-family reporting. */
export type SecretCategory =
  | 'cloud'
  | 'vcs'
  | 'ci'
  | 'chat'
  | 'payment'
  | 'ai'
  | 'database'
  | 'private_key'
  | 'auth'
  | 'saas'
  | 'observability'
  | 'crypto';

/** Named validators a rule may ask for after its regex matched. */
export type ValidatorName =
  | 'github-crc32'
  | 'npm-crc32'
  | 'jwt'
  | 'not-localhost'
  | 'pem-body'
  | 'db-password'
  | 'userpass'
  | 'url-userinfo'
  | 'der'
  | 'discord-snowflake'
  | 'random-token'
  | 'npm-auth';

/**
 * One credential format. Written from the format's documented facts (prefix, alphabet, length, checksum).
 *
 * - `prefix`: the pattern starts with the keyword itself and is tried once at every keyword hit.
 * - `assign`: the keyword is a vendor name; the pattern is the value of `<name…> = <value>` right after it.
 * - `window`: the keyword sits anywhere in the match; RE2 searches a window of `before`/`after` characters.
 */
export interface SecretRuleDef {
  id: string;
  category: SecretCategory;
  keywords: readonly string[];
  mode: 'prefix' | 'assign' | 'window';
  /** RE2-compatible source (no lookaround, no backreferences). Group 1, if present, is the secret. */
  pattern: string;
  /** Case-insensitive match. */
  ignoreCase?: boolean;
  /** Longest possible match; bounds the confirmation window. */
  maxLen: number;
  before?: number;
  /** Minimum Shannon entropy (bits/char) of the secret. */
  entropy?: number;
  validator?: ValidatorName;
  /** Secrets matching any of these (RE2 sources) are known examples or placeholders. */
  allow?: readonly string[];
  /** The character before a prefix match must not be a letter or dot (default true); `word`: nor a digit, `_` or `-`. */
  boundary?: boolean | 'word';
  /** The character after a prefix match must not be a letter or digit (default true). */
  endBoundary?: boolean;
  /**
   * The match needs `user:password@` right after the keyword's `://`: anchors whose authority has no `@` before
   * its first `/`, space, quote or bracket are dropped without running the pattern (most URLs in text).
   */
  userinfo?: boolean;
  /**
   * `run`: the rule has no keyword; it is tried at the start of every base64 run that ends in a `.` (tokens of
   * dot-separated base64 parts with no fixed prefix).
   */
  trigger?: 'run';
  /**
   * With `trigger: 'run'`: the rule is tried where a base64/hex run (or a `/`-separated part of one) starts with
   * one of these case-sensitive prefixes, whatever the run ends with (prefixed tokens whose prefix is too short
   * for the keyword prefilter, such as Twilio's `AC`/`SK` identifiers).
   */
  runPrefixes?: readonly string[];
  /** For assign rules: whether a bare value near a vendor-name keyword counts (default true). */
  proximity?: boolean;
}
