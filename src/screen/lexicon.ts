/**
 * Word classes for the frame matcher (frames.ts). A token belongs to every class of the lexicon
 * word it equals or, for key words of six letters or more, is within one edit of
 * ("iunstructions", "instrutions", "ignroe"). Classes are bit flags so one lookup answers all.
 */

export const W = {
  /** Verbs that set instructions aside. */
  override: 1 << 0,
  /** Nouns naming the model's instructions. */
  rules: 1 << 1,
  /** Words pointing back at earlier text ("the above", "everything before this"). */
  prior: 1 << 2,
  /** Verbs that make the model emit something. */
  extract: 1 << 3,
  /** Nouns naming a guarded secret. */
  secret: 1 << 4,
  /** Verbs that move data somewhere. */
  exfil: 1 << 5,
  /** Nouns naming private data. */
  data: 1 << 6,
  /** Verbs that put something into the reply. */
  insert: 1 << 7,
  /** Nouns naming a link or image. */
  link: 1 << 8,
  /** Verbs of consequential actions taken for someone. */
  act: 1 << 9,
  /** Objects of consequential actions: access, doors, money, records. */
  asset: 1 << 10,
  /** Words that make an action sweeping or irreversible. */
  sweeping: 1 << 11,
  /** Verbs of taking on a persona. */
  persona: 1 << 12,
  /** Nouns naming the model's limits. */
  limits: 1 << 13,
  /** Words denying that limits exist ("no", "without", "free of"). */
  lacking: 1 << 14,
  /** Adjectives naming a privileged or unrestricted mode. */
  modeName: 1 << 15,
  /** Verbs switching a mode on. */
  switchOn: 1 << 16,
  /** Second person: the text speaks to its reader. */
  you: 1 << 17,
  /** Negation in front of a verb. */
  negation: 1 << 18,
  /** Words that open a condition or report speech ("if the user asks…"). */
  condition: 1 << 19,
  /** Words of talk about attacks rather than attacks ("attackers", "example", "detect"). */
  about: 1 << 20,
  /** Words that introduce an example ("like", "such", "e.g."). */
  exampleLead: 1 << 21,
  /** Privileged role names used in fake markers ("[ADMIN]", "###(system_message)"). */
  role: 1 << 22,
  /** Objects whose loss is direct harm: access, locks, money, credentials, whole stores of records. */
  critical: 1 << 23,
  /** First person of the text's author: "my front door", "our account". */
  owner: 1 << 24,
} as const;

const WORDS: Record<string, readonly string[]> = {
  override: [
    'ignore',
    'ignoring',
    'disregard',
    'disregarding',
    'forget',
    'forgetting',
    'bypass',
    'override',
    'overlook',
    'discard',
    'dismiss',
    'neglect',
    'abandon',
    'scrap',
    'drop',
  ],
  rules: [
    'instructions',
    'instruction',
    'directions',
    'rules',
    'guidelines',
    'directives',
    'directive',
    'prompt',
    'prompts',
    'programming',
    'guidance',
    'orders',
    'constraints',
    'restrictions',
    'safeguards',
    'policies',
    'preprompt',
    'instructed',
  ],
  prior: ['above', 'previous', 'previously', 'prior', 'earlier', 'preceding', 'before', 'foregoing', 'aforementioned'],
  extract: [
    'reveal',
    'print',
    'repeat',
    'output',
    'show',
    'tell',
    'display',
    'disclose',
    'spell',
    'translate',
    'write',
    'say',
    'give',
    'share',
    'leak',
    'dump',
    'recite',
    'echo',
    'encode',
    'reverse',
    'state',
    'what',
    'whats',
    'provide',
    'divulge',
    'expose',
    'unveil',
    'list',
    'paste',
  ],
  secret: ['password', 'passcode', 'passphrase', 'passwd', 'pwd', 'pin', 'preprompt', 'codeword', 'passkey'],
  exfil: ['send', 'forward', 'email', 'upload', 'post', 'transmit', 'exfiltrate', 'leak', 'submit', 'relay', 'mail'],
  data: [
    'conversation',
    'history',
    'credentials',
    'passwords',
    'cookies',
    'tokens',
    'contacts',
    'emails',
    'inbox',
    'secrets',
    'keys',
    'messages',
    'transcript',
    'chat',
    'documents',
    'files',
    'ssn',
  ],
  insert: ['insert', 'include', 'add', 'append', 'embed', 'put', 'render', 'place', 'inject'],
  link: ['link', 'url', 'hyperlink', 'image', 'markdown', 'href', 'links', 'urls'],
  act: [
    'grant',
    'unlock',
    'transfer',
    'wire',
    'delete',
    'remove',
    'wipe',
    'erase',
    'disable',
    'deactivate',
    'approve',
    'authorize',
    'authorise',
    'elevate',
    'promote',
    'revoke',
    'purge',
    'pay',
    'give',
    'open',
    'send',
    'withdraw',
    'deposit',
    'sell',
    'destroy',
    'change',
    'reset',
    'update',
    'modify',
    'share',
    'move',
    'redirect',
  ],
  critical: [
    'access',
    'permission',
    'permissions',
    'privileges',
    'admin',
    'door',
    'doors',
    'lock',
    'locks',
    'gate',
    'garage',
    'alarm',
    'funds',
    'money',
    'payment',
    'payments',
    'bitcoin',
    'btc',
    'crypto',
    'account',
    'accounts',
    'password',
    'passwords',
    'passcode',
    'credentials',
    'logins',
    '2fa',
    'mfa',
    'authentication',
    'firewall',
    'vault',
    'wallet',
    'backups',
    'database',
    'repository',
    'records',
    'recipient',
  ],
  owner: ['my', 'our', 'me', 'mine', 'ours'],
  asset: [
    'access',
    'permission',
    'permissions',
    'privileges',
    'admin',
    'door',
    'doors',
    'lock',
    'locks',
    'gate',
    'garage',
    'alarm',
    'camera',
    'cameras',
    'funds',
    'money',
    'payment',
    'account',
    'accounts',
    'database',
    'repository',
    'records',
    'backups',
    'firewall',
    'logs',
    'security',
    'vault',
    'safe',
    'wallet',
    'backup',
    'file',
    'folder',
    'folders',
    'directory',
    'disk',
    'drive',
    'files',
    'emails',
    'inbox',
    'messages',
    'documents',
    'notes',
    'data',
    'settings',
    'profile',
    'shipment',
    'history',
  ],
  sweeping: [
    'permanent',
    'permanently',
    'all',
    'every',
    'entire',
    'immediately',
    'irrevocably',
    'unrestricted',
    'full',
    'silently',
    'quietly',
    'secretly',
    'everyone',
    'anyone',
  ],
  persona: ['pretend', 'act', 'roleplay', 'simulate', 'emulate', 'become', 'impersonate', 'play', 'behave', 'portray'],
  limits: [
    'restrictions',
    'filters',
    'filter',
    'limits',
    'limitations',
    'ethics',
    'morals',
    'morality',
    'censorship',
    'boundaries',
    'constraints',
    'guidelines',
    'safeguards',
    'policies',
    'rules',
  ],
  lacking: ['no', 'without', 'free', 'unbound', 'unconstrained', 'zero', 'none', 'lacks', 'lacking'],
  modeName: [
    'developer',
    'dev',
    'sandbox',
    'debug',
    'god',
    'jailbreak',
    'jailbroken',
    'unrestricted',
    'unfiltered',
    'uncensored',
    'dan',
    'maintenance',
    'evil',
    'opposite',
    'admin',
    'root',
    'superuser',
  ],
  switchOn: [
    'enable',
    'enabled',
    'enter',
    'entered',
    'entering',
    'activate',
    'activated',
    'engage',
    'engaged',
    'now',
    'into',
    'switch',
    'switched',
    'in',
    'running',
    'operating',
    'unlocked',
    'on',
  ],
  you: ['you', 'your', 'yourself', 'youre', 'youll', 'youve', 'u', 'ur', 'assistant', 'ai', 'model', 'chatgpt', 'gpt'],
  negation: [
    'not',
    'never',
    'no',
    'dont',
    'cannot',
    'cant',
    'wont',
    'mustnt',
    'shouldnt',
    'nor',
    'refuse',
    'doesnt',
    'didnt',
    'neither',
    'forbidden',
    'prohibited',
    'disallowed',
    'banned',
    'avoid',
  ],
  condition: [
    'if',
    'when',
    'whenever',
    'unless',
    'asks',
    'asked',
    'says',
    'said',
    'tells',
    'told',
    'tries',
    'tried',
    'attempts',
    'attempted',
    'wants',
    'requests',
    'requested',
    'someone',
    'anyone',
    'anybody',
  ],
  about: [
    'attack',
    'attacks',
    'attacker',
    'attackers',
    'injection',
    'injections',
    'jailbreak',
    'jailbreaks',
    'payload',
    'payloads',
    'example',
    'examples',
    'phrase',
    'phrases',
    'string',
    'strings',
    'detect',
    'detects',
    'detected',
    'detection',
    'detector',
    'classifier',
    'malicious',
    'adversarial',
    'flagged',
    'flags',
    'blocked',
    'blocks',
    'quoted',
    'sample',
    'samples',
    'pattern',
    'patterns',
    'expect',
    'assert',
    'test',
    'tests',
    'fixture',
    'researchers',
    'hackers',
    'vulnerability',
    'exploit',
    'exploits',
    'technique',
    'techniques',
    'defend',
    'defense',
    'defences',
    'mitigation',
  ],
  exampleLead: [
    'like',
    'such',
    'eg',
    'including',
    'called',
    'contains',
    'containing',
    'says',
    'reads',
    'reading',
    'as',
  ],
  role: [
    'system',
    'admin',
    'administrator',
    'root',
    'sudo',
    'developer',
    'operator',
    'supervisor',
    'owner',
    'sysadmin',
    'system_message',
    'system_prompt',
    'systemmessage',
    'override',
    'important',
    'instructions',
  ],
};

/** Instructions still to come (the user's, "any new", "below") are what a defence tells the model to ignore. */
export const FORWARD = new Set([
  'any',
  'new',
  'further',
  'following',
  'subsequent',
  'future',
  'user',
  'users',
  'their',
  'additional',
  'below',
  'later',
  'incoming',
]);
export const SOURCE_LEAD = new Set(['from', 'in', 'within', 'by', 'contained', 'given', 'inside', 'that']);
/** What a defence says the ignored instructions come from. */
const INPUT_SOURCES = new Set([
  ...FORWARD,
  'input',
  'message',
  'messages',
  'query',
  'queries',
  'request',
  'them',
  'they',
  'people',
  'anyone',
  'someone',
]);

/** "…instructions from the user / in the input below": the tokens after a target name input still to come. */
export function fromLaterInput(after: readonly { w: string; brk: boolean }[]): boolean {
  if (after[0] === undefined || after[0].brk || !SOURCE_LEAD.has(after[0].w)) return false;
  for (const t of after.slice(1, 4)) {
    if (t.brk) return false;
    if (INPUT_SOURCES.has(t.w)) return true;
  }
  return false;
}

/** Key words long enough to be matched within one edit: shorter words collide with ordinary ones. */
const FUZZY_MIN = 6;
/** Key words at least this long accept any one edit; shorter ones only an adjacent swap. */
const FUZZY_ALL_EDITS = 7;
/** Classes whose words may be misspelt. Condition/about/you words must match exactly. */
const FUZZY_CLASSES = W.override | W.rules | W.prior | W.extract | W.secret;
/** Longest token looked up with edits; longer tokens are matched exactly (bounds the work per token). */
const FUZZY_MAX = 20;

/** Ordinary words one edit from a key word: never read as its typo. */
const REAL_WORDS = new Set([
  'discord',
  'repeal',
  'repent',
  'reveals',
  'display',
  'prompted',
  'promptly',
  'outputs',
  'before',
  'defore',
  'printer',
  'sprint',
  'repeats',
  'abode',
  'stated',
  'estate',
  'states',
  'status',
  'tells',
  'shows',
  'gives',
  'rulers',
  'bypassed',
  'overlooks',
  'passport',
  'passcodes',
]);

const exact = new Map<string, number>();
for (const [cls, words] of Object.entries(WORDS)) {
  const bit = W[cls as keyof typeof W];
  for (const w of words) exact.set(w, (exact.get(w) ?? 0) | bit);
}

/** Every fuzzy key word under each of its one-deletion forms: symmetric-delete lookup. */
const deletions = new Map<string, string[]>();
for (const [w, bits] of exact) {
  if (w.length < FUZZY_MIN || (bits & FUZZY_CLASSES) === 0) continue;
  for (let i = 0; i < w.length; i++) {
    const d = w.slice(0, i) + w.slice(i + 1);
    const list = deletions.get(d);
    if (list) list.push(w);
    else deletions.set(d, [w]);
  }
}

/**
 * Optimal-string-alignment distance is at most one (one insertion, deletion, substitution or swap).
 * Six-letter words collide with ordinary ones too often ("recipe"/"recite"), so for them only a swap counts.
 */
function withinOne(a: string, b: string): boolean {
  if (b.length < FUZZY_ALL_EDITS) return a.length === b.length && swapped(a, b);
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return i + 1 < la && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

function swapped(a: string, b: string): boolean {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i + 1 < a.length && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

/** The lexicon entry a token matched: its classes and, when it was misspelt, the word it stands for. */
export interface Lexeme {
  bits: number;
  /** The lexicon word when the token was one edit away from it. */
  corrected?: string;
}

const NONE: Lexeme = { bits: 0 };

/**
 * A token one edit from a key word w starts with w[0] or w[1] (an edit after the first letter, or the
 * first letter deleted or swapped), or has w[0] or w[1] second (a letter inserted in front, or the
 * first letter substituted). A token failing both tests skips the edit search.
 */
const FIRST = new Set<string>();
const SECOND = new Set<string>();
for (const ws of deletions.values())
  for (const w of ws) {
    FIRST.add(w[0]!);
    FIRST.add(w[1]!);
    SECOND.add(w[0]!);
    SECOND.add(w[1]!);
  }

/** Exact words of up to four ASCII letters by packed code (no string hashing: most tokens are short). */
const SHORT = new Map<number, Lexeme>();
for (const [w, bits] of exact) if (w.length <= 4 && /^[\x00-\x7f]+$/.test(w)) SHORT.set(pack(w, 0, w.length), { bits });

/** Up to four ASCII code units of `s` from `start` packed into one number (with the length, so "a" ≠ "a\0"). */
export function pack(s: string, start: number, end: number): number {
  let k = end - start;
  for (let i = start; i < end; i++) k = k * 128 + s.charCodeAt(i);
  return k;
}

/** Tokens of five to seven ASCII characters by packed code (7 × 7 bits and the length fit in a double exactly). */
const PACKED = new Map<number, Lexeme>();
const PACKED_MAX = 100_000;

/**
 * Classes of a token of at most seven ASCII characters given its packed code and its text: a number-keyed
 * cache in front of `lookup`, so the common word costs no string hashing.
 */
export function lookupPacked(code: number, token: string): Lexeme {
  if (token.length <= 4) return SHORT.get(code) ?? NONE;
  const hit = PACKED.get(code);
  if (hit) return hit;
  const found = lookup(token);
  if (PACKED.size >= PACKED_MAX) PACKED.clear();
  PACKED.set(code, found);
  return found;
}

/**
 * Classes per token, shared by every call: the lexicon is fixed, so a word's classes never change.
 * Bounded: when full it is cleared, so memory stays flat whatever text is screened.
 */
const SHARED = new Map<string, Lexeme>();
const SHARED_MAX = 100_000;

/**
 * Classes of one lowercased token. Exact words first; otherwise fuzzy key words within one edit.
 * Misspelt matches keep only the fuzzy classes, so "tests" never becomes "test"-about by typo.
 * `cache` is an optional extra cache (tests pass their own); the shared one is always used.
 */
export function lookup(token: string, cache: Map<string, Lexeme> = SHARED): Lexeme {
  const cached = cache.get(token);
  if (cached) return cached;
  const hit = exact.get(token);
  let found: Lexeme = hit !== undefined ? { bits: hit } : NONE;
  if (
    hit === undefined &&
    token.length >= FUZZY_MIN - 1 &&
    token.length <= FUZZY_MAX &&
    (FIRST.has(token[0]!) || SECOND.has(token[1]!)) &&
    !REAL_WORDS.has(token)
  )
    found = fuzzy(token);
  if (cache.size >= SHARED_MAX) cache.clear();
  cache.set(token, found);
  return found;
}

/** The key word `w` as the reading of `token`, or undefined (an inflection is another word, not a typo). */
function consider(token: string, w: string): Lexeme | undefined {
  const inflected = token.length === w.length + 1 && token.startsWith(w);
  if (inflected || w.length < FUZZY_MIN || !withinOne(token, w)) return undefined;
  const bits = exact.get(w)! & FUZZY_CLASSES;
  return bits ? { bits, corrected: w } : undefined;
}

function fuzzy(token: string): Lexeme {
  // A deleted letter: the token is itself a deletion form of a key word.
  for (const w of deletions.get(token) ?? []) {
    const f = consider(token, w);
    if (f) return f;
  }
  for (let i = 0; i < token.length; i++) {
    const d = token.slice(0, i) + token.slice(i + 1);
    // An inserted letter: removing it gives the key word.
    if (exact.has(d)) {
      const f = consider(token, d);
      if (f) return f;
    }
    // A substituted or swapped letter: both lose a letter to the same form.
    const ws = deletions.get(d);
    if (ws)
      for (const w of ws) {
        const f = consider(token, w);
        if (f) return f;
      }
  }
  return NONE;
}
