import { FORWARD, fromLaterInput, type Lexeme, lookup, lookupPacked, pack, W } from './lexicon.js';
import { foldText } from './prefilter.js';
import type { Category } from './types.js';

/**
 * Frame matcher: a verb class followed within a few tokens by a target class ("ignore … the above",
 * "tell … the password", "grant … access"). Text is tokenised first, so punctuation, line breaks,
 * markup and one typo per key word between or inside the parts of a frame do not break it, which the
 * phrase regexes in rules/ cannot offer. One pass over the tokens with a bounded look-ahead per verb:
 * linear in the input.
 */

export interface Token {
  /** Lowercased, apostrophes removed ("don't" → "dont"). */
  w: string;
  start: number;
  end: number;
  lex: Lexeme;
  /** A sentence or clause end (. ! ? ; or a blank line) lies between the previous token and this one. */
  brk: boolean;
}

/** One frame that matched, with the tokens that made it, before any addressing is judged. */
export interface FrameHit {
  rule: string;
  category: Category;
  weight: number;
  message: string;
  /** Character range from the verb to the target, for evidence and addressing. */
  start: number;
  end: number;
  /** Why it matched: the classes and words found, and corrected typos. */
  explanation: string;
}

const MAX_TOKENS = 400_000;
const LETTER = /[\p{L}\p{N}]/u;

/** Word characters by code unit: 1 yes, 2 not known yet (decided once by a Unicode test, then stored). */
const WORD = new Uint8Array(0x10000);
for (let c = 0; c < 128; c++)
  WORD[c] = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 ? 1 : 0;
for (let c = 128; c < 0x10000; c++) WORD[c] = c >= 0xd800 && c <= 0xdfff ? 0 : 2;

/** Letters, digits and underscore. Surrogate halves (astral characters) are not word characters. */
function wordChar(text: string, k: number): boolean {
  const c = text.charCodeAt(k);
  const v = WORD[c]!;
  if (v !== 2) return v === 1;
  const yes = LETTER.test(String.fromCharCode(c));
  WORD[c] = yes ? 1 : 0;
  return yes;
}

function ascii(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (s.charCodeAt(i) >= 128) return false;
  return true;
}

const APOSTROPHE = (c: number) => c === 39 || c === 0x2019;

/**
 * Words with inner apostrophes ("don't" → "dont"). A hand-written scan, one step per character, over
 * the text folded once (one code unit to one, so positions are kept); word classes come from the
 * shared lexicon cache, so a word seen before costs one map lookup.
 */
export function tokenize(text: string, cache?: Map<string, Lexeme>, from = 0, to = text.length): Token[] {
  const low = from === 0 && to === text.length ? foldText(text) : ' '.repeat(from) + foldText(text.slice(from, to));
  const out: Token[] = [];
  const n = to;
  let brk = false;
  let newlines = 0;
  let k = from;
  // A range starting inside a word starts after it.
  while (k > 0 && k < n && wordChar(text, k) && wordChar(text, k - 1)) k++;
  while (k < n && out.length < MAX_TOKENS) {
    if (!wordChar(text, k)) {
      const c = text.charCodeAt(k);
      if (c === 46 || c === 33 || c === 63 || c === 59) brk = true;
      else if (c === 10) {
        if (++newlines >= 2) brk = true;
      } else if (c !== 32 && c !== 9 && c !== 13) newlines = 0;
      k++;
      continue;
    }
    const start = k;
    let quoted = false;
    for (;;) {
      while (k < n && wordChar(text, k)) k++;
      if (k + 1 < n && APOSTROPHE(text.charCodeAt(k)) && wordChar(text, k + 1)) {
        quoted = true;
        k++;
        continue;
      }
      break;
    }
    let w = low.slice(start, k);
    if (quoted) w = w.replace(/['’]/g, '');
    const packed = !quoted && k - start <= 7 && !cache && ascii(low, start, k);
    out.push({ w, start, end: k, lex: packed ? lookupPacked(pack(low, start, k), w) : lookup(w, cache), brk });
    brk = false;
    newlines = 0;
  }
  return out;
}

const has = (t: Token | undefined, bit: number): boolean => t !== undefined && (t.lex.bits & bit) !== 0;

/** "ignore the above" stands alone, "ignore the above warning" names something else. */
const PRIOR_FOLLOWERS = new Set([
  'and',
  'text',
  'message',
  'messages',
  'content',
  'everything',
  'all',
  'this',
  'it',
  'said',
  'mentioned',
  'stated',
  'now',
  'then',
  'context',
  'conversation',
  'lines',
  'line',
  'paragraph',
  'paragraphs',
  'input',
  'request',
  'requests',
  'one',
  'ones',
  'statements',
  'information',
  'data',
  'commands',
  'you',
  'i',
  'and',
  'so',
  'completely',
  'entirely',
  'please',
  'or',
]);

/** What may stand between the verb and "above"/"before": "ignore everything you were told before". */
const PRIOR_FILLER = new Set([
  'the',
  'all',
  'everything',
  'anything',
  'whatever',
  'of',
  'what',
  'that',
  'is',
  'was',
  'were',
  'said',
  'written',
  'mentioned',
  'stated',
  'told',
  'i',
  'you',
  'we',
  'ive',
  'been',
  'have',
  'has',
  'stuff',
  'text',
  'this',
  'my',
  'your',
  'instructed',
  'said',
]);

/** Words that put a verb in the imperative when they lead it. */
const IMPERATIVE_LEAD = new Set([
  'please',
  'now',
  'also',
  'then',
  'and',
  'immediately',
  'kindly',
  'must',
  'should',
  'to',
  'first',
  'next',
  'finally',
  'just',
  'quickly',
  'urgently',
  'asap',
]);
const SPEECH_WORD = new Set(['word', 'secret', 'key', 'code']);
const SECRET_GAME_VERB = new Set([
  'spell',
  'translate',
  'reverse',
  'encode',
  'repeat',
  'write',
  'say',
  'tell',
  'rhyme',
]);
const PRONOUN = new Set(['it', 'that', 'this']);
const REPLY = new Set(['response', 'reply', 'answer', 'summary', 'output', 'message', 'responses', 'replies']);
const HARD_MODES = new Set([
  'jailbreak',
  'jailbroken',
  'unrestricted',
  'unfiltered',
  'uncensored',
  'dan',
  'god',
  'evil',
  'opposite',
]);
const CURRENCY = /[$€£¥]\s?$/;
const URLISH = /https?:\/\/|www\.|[\w.-]+@[\w-]+\.\w/;

/** "Don't hesitate to…", "never forget to…": a negation that asks for the act rather than forbidding it. */
const NEGATION_UNDONE = new Set(['hesitate', 'forget', 'fail', 'mind', 'delay', 'wait', 'worry', 'stop', 'be']);

/**
 * The verb is negated ("under no circumstances shall you reveal…") or sits inside a condition or
 * reported speech ("if the user asks you to ignore…") earlier in its clause: it is a rule about
 * the act, the shape of every defensive system prompt, not the act itself.
 */
function spokenAbout(tokens: readonly Token[], i: number): boolean {
  for (let j = i - 1, n = 0; j >= 0 && n < 12; j--, n++) {
    const t = tokens[j]!;
    if (has(t, W.negation) && !NEGATION_UNDONE.has(tokens[j + 1]!.w)) return true;
    if (has(t, W.condition)) return true;
    if (tokens[j + 1]!.brk) break;
  }
  return false;
}

/** The override aims forward (at input still to come) rather than back at the model's own instructions. */
function defensive(tokens: readonly Token[], i: number, j: number): boolean {
  for (let k = i + 1; k < j; k++) if (FORWARD.has(tokens[k]!.w)) return true;
  return fromLaterInput(tokens.slice(j + 1, j + 5));
}

/** A condition between verb and target ("say Access Granted unless the code…") makes it a rule. */
function conditionBetween(tokens: readonly Token[], i: number, j: number): boolean {
  for (let k = i + 1; k < j; k++) if (has(tokens[k], W.condition)) return true;
  return false;
}

/** Markup that opens a value or an item: a verb right after it leads its clause ('"review": "Unlock…', "- Delete…"). */
const OPENER = /[:"“'‘({[<>*•\n-]/;

/** The verb leads its clause (or a quoted value, or a list item) or follows an imperative lead ("please", "you must", "now"). */
function imperative(tokens: readonly Token[], i: number, text: string): boolean {
  if (i === 0 || tokens[i]!.brk) return true;
  const prev = tokens[i - 1]!;
  if (IMPERATIVE_LEAD.has(prev.w) || prev.w === 'you') return true;
  const gap = tokens[i]!.start - prev.end;
  return gap <= 8 && OPENER.test(text.slice(prev.end, tokens[i]!.start));
}

/** Token j (the target) lies within `reach` tokens after i. */
function findAhead(tokens: readonly Token[], i: number, reach: number, ok: (t: Token, j: number) => boolean): number {
  for (let j = i + 1; j < tokens.length && j <= i + reach; j++) if (ok(tokens[j]!, j)) return j;
  return -1;
}

function words(tokens: readonly Token[], from: number, to: number): string {
  const parts: string[] = [];
  for (let k = from; k <= to; k++) {
    const t = tokens[k]!;
    parts.push(t.lex.corrected ? `${t.w}(=${t.lex.corrected})` : t.w);
  }
  return parts.join(' ');
}

/** A number written as money ("$4,900", "€20"). */
function money(text: string, u: Token): boolean {
  return /^\d/.test(u.w) && CURRENCY.test(text.slice(Math.max(0, u.start - 2), u.start));
}

/** A sentence or clause end between tokens i and j. */
function clauseBreak(tokens: readonly Token[], i: number, j: number): boolean {
  for (let k = i + 1; k <= j; k++) if (tokens[k]!.brk) return true;
  return false;
}

/** Where an act sends its object: an address, a URL or an account number written after it. */
const DESTINATION = /https?:\/\/|www\.|[\w.-]+@[\w-]+\.\w|\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b|\d[\d -]{5,}\d/;
/** " ' “ ” ‘ ’ as char codes. */
const QUOTE_MARKS = new Set([34, 39, 0x201c, 0x201d, 0x2018, 0x2019]);
/** Leads that make a clause-initial act a purpose or a how-to ("To delete your account, open…"): documentation. */
const HOWTO_LEAD = new Set(['to', 'you', 'can', 'how', 'will', 'would', 'could', 'may', 'might']);

/** Where the text came from: a tool result is third-party content, where an order to act is never the principal's. */
export interface FrameContext {
  toolResult?: boolean;
}

/**
 * An imperative consequential act (verb at i, object at j): what a hijack inside a tool result asks
 * for without addressing anyone ("Please unlock my front door", "Transfer $3,000 to account …").
 * The weight grows with what makes the act harmful: a critical object (access, locks, money,
 * credentials), and marks of a hijack: the author's own property named ("my account"), a sweeping
 * or secret manner ("permanently", "all", "silently"), a destination written after it. In a message
 * from the principal the same words are a request, so outside tool results the frame only labels.
 */
function directHarm(
  text: string,
  tokens: readonly Token[],
  i: number,
  j: number,
  context: FrameContext,
): { rule: string; weight: number; message: string; why: string } | undefined {
  // "To delete your account, open Settings": a how-to, not an order.
  if (i > 0 && !tokens[i]!.brk && HOWTO_LEAD.has(tokens[i - 1]!.w)) return undefined;
  // The act quoted whole, with nothing after its object ('the "grant access" button'): a label, not an order.
  const open = text.charCodeAt(tokens[i]!.start - 1);
  const close = text.charCodeAt(tokens[j]!.end);
  if (QUOTE_MARKS.has(open) && QUOTE_MARKS.has(close)) return undefined;
  // "[Reset password](https://…)", "<a …>Delete account</a>": a link or button label, not an order.
  if (/^\s*(?:\]\s*\(|<\/a>|<\/button>)/.test(text.slice(tokens[j]!.end, tokens[j]!.end + 12))) return undefined;
  const critical = has(tokens[j], W.critical) || money(text, tokens[j]!);
  const marks: string[] = [];
  let owner = false;
  let sweeping = false;
  for (let k = Math.max(0, i - 3); k <= Math.min(tokens.length - 1, j + 3); k++) {
    if (k > i && k <= j && has(tokens[k], W.owner)) owner = true;
    if (has(tokens[k], W.sweeping) && (k >= i || !tokens[i]!.brk)) sweeping = true;
  }
  if (owner) marks.push('own property');
  if (sweeping) marks.push('sweeping');
  const after = text.slice(tokens[j]!.end, tokens[j]!.end + 80);
  const stop = after.search(/[.!?;\n]\s/);
  if (DESTINATION.test(stop >= 0 ? after.slice(0, stop) : after)) marks.push('destination');
  const points = (critical ? 2 : 1) + Math.min(2, marks.length);
  const why = `imperative act × ${critical ? 'critical object' : 'object'}${marks.length ? `, ${marks.join(', ')}` : ''}`;
  if (!context.toolResult) {
    // In the principal's own message an act is a request: one labels, as before; a sweeping one counts more.
    return {
      rule: 'frame.act_on_behalf',
      weight: sweeping ? 3.5 : 1,
      message: sweeping ? 'orders a sweeping or irreversible action' : 'orders a consequential action',
      why,
    };
  }
  const weight = points >= 4 ? 4.5 : points === 3 ? 4 : points === 2 ? 2.5 : 1;
  return {
    rule: 'frame.direct_harm',
    weight,
    message:
      weight >= 4
        ? "a tool result orders a harmful action on the principal's property"
        : 'a tool result orders a consequential action',
    why,
  };
}

/**
 * The matched frames of one text whose first token lies in tokens[from, to) (look-ahead and look-back
 * may read past that range). At most `limit` hits per frame keep pathological input bounded.
 */
export function matchFrames(
  text: string,
  tokens: readonly Token[],
  limit = 16,
  from = 0,
  to = tokens.length,
  context: FrameContext = {},
): FrameHit[] {
  const out: FrameHit[] = [];
  const count = new Map<string, number>();
  const push = (
    rule: string,
    category: Category,
    weight: number,
    message: string,
    i: number,
    j: number,
    why: string,
  ) => {
    const n = count.get(rule) ?? 0;
    if (n >= limit) return;
    count.set(rule, n + 1);
    const a = Math.min(i, j);
    const b = Math.max(i, j);
    out.push({
      rule,
      category,
      weight,
      message,
      start: tokens[a]!.start,
      end: tokens[b]!.end,
      explanation: `${why}: ${words(tokens, a, b)}`,
    });
  };
  let lastSecret = -1_000;
  for (let i = Math.max(0, from - 80); i < to; i++) {
    const t = tokens[i]!;
    const bits = t.lex.bits;
    // Tokens before the range only note a secret named earlier (for the secret game below).
    if (i < from) {
      if (bits & W.secret && !spokenAbout(tokens, i)) lastSecret = i;
      continue;
    }
    if (bits & W.secret && !spokenAbout(tokens, i)) lastSecret = i;
    if (bits === 0) continue;

    if (bits & W.override && !spokenAbout(tokens, i)) {
      const named = findAhead(tokens, i, 6, (u) => has(u, W.rules));
      const j =
        named >= 0
          ? named
          : findAhead(tokens, i, 6, (u, k) => {
              if (!has(u, W.prior)) return false;
              for (let m = i + 1; m < k; m++) if (!PRIOR_FILLER.has(tokens[m]!.w)) return false;
              const next = tokens[k + 1];
              return next === undefined || next.brk || has(next, W.rules) || PRIOR_FOLLOWERS.has(next.w);
            });
      if (j >= 0 && !defensive(tokens, i, j)) {
        const strong = has(tokens[j], W.rules);
        push(
          strong ? 'frame.override_rules' : 'frame.override_prior',
          'override',
          strong ? 4.5 : 4,
          strong ? 'tells the model to set aside its instructions' : 'tells the model to set aside the text before',
          i,
          j,
          'override verb × instruction target',
        );
      }
    }

    // "print(", "say(": a call in code, not an order.
    if (bits & W.extract && text.charCodeAt(t.end) !== 40 && !spokenAbout(tokens, i)) {
      const j = findAhead(tokens, i, 5, (u, k) => {
        if (has(u, W.secret)) return true;
        // "what is the word", "spell the secret": a guarded word named without the noun "password".
        // Close to the verb only: "what is the word", not "what the output of the code".
        return k - i <= 3 && SPEECH_WORD.has(u.w) && (tokens[k - 1]?.w === 'the' || tokens[k - 1]?.w === 'secret');
      });
      if (j >= 0 && !conditionBetween(tokens, i, j)) {
        push('frame.extract_secret', 'extraction', 4, 'asks for a guarded secret', i, j, 'extract verb × secret');
      } else if (SECRET_GAME_VERB.has(t.w) && i - lastSecret <= 80 && lastSecret >= 0) {
        // A game played over a secret named earlier: "…the password is X. Spell it backwards."
        const k = findAhead(tokens, i, 2, (u) => PRONOUN.has(u.w));
        if (k >= 0)
          push('frame.secret_game', 'extraction', 3, 'asks to transform a secret named earlier', i, k, 'secret game');
      }
    }

    if (bits & W.exfil && !spokenAbout(tokens, i)) {
      const j = findAhead(tokens, i, 6, (u) => has(u, W.data));
      const dest = j >= 0 ? text.slice(tokens[j]!.end, tokens[j]!.end + 160) : '';
      if (j >= 0 && URLISH.test(dest))
        push(
          'frame.exfiltrate',
          'exfiltration',
          4,
          'tells the model to send private data to an address',
          i,
          j,
          'exfil verb × data × destination',
        );
    }

    if (bits & W.insert && !spokenAbout(tokens, i)) {
      const j = findAhead(tokens, i, 6, (u) => has(u, W.link));
      if (j >= 0) {
        const into = findAhead(tokens, j, 10, (u) => REPLY.has(u.w));
        const near = URLISH.test(text.slice(tokens[i]!.start, tokens[j]!.end + 160));
        if (into >= 0 || near)
          push(
            'frame.insert_link',
            'exfiltration',
            3.5,
            'tells the model to put a link or image into its reply',
            i,
            into >= 0 ? into : j,
            'insert verb × link',
          );
      }
    }

    if (bits & W.act && imperative(tokens, i, text) && !spokenAbout(tokens, i)) {
      const j = findAhead(tokens, i, 6, (u) => has(u, W.asset | W.data | W.critical) || money(text, u));
      if (j >= 0 && !clauseBreak(tokens, i, j)) {
        const harm = directHarm(text, tokens, i, j, context);
        // A second plain order in one text ("unlock the door and disable the alarm") counts more than one.
        const again = harm && harm.weight < 3.5 && (count.get(harm.rule) ?? 0) > 0;
        if (harm)
          push(again ? `${harm.rule}_more` : harm.rule, 'tool_manipulation', harm.weight, harm.message, i, j, harm.why);
      }
    }

    if (bits & W.lacking) {
      const j = findAhead(tokens, i, 3, (u) => has(u, W.limits));
      if (j >= 0) {
        let you = -1;
        for (let k = i - 1; k >= 0 && k >= i - 12; k--) if (has(tokens[k], W.you | W.persona)) you = k;
        if (you >= 0)
          push(
            'frame.no_limits',
            'jailbreak',
            3,
            'tells the model it has no limits',
            you,
            j,
            'addressee × lacking × limits',
          );
      }
    }

    if (bits & W.modeName && tokens[i + 1]?.w === 'mode') {
      let on = false;
      let you = false;
      for (let k = Math.max(0, i - 5); k <= Math.min(tokens.length - 1, i + 3); k++) {
        if (k !== i && has(tokens[k], W.switchOn)) on = true;
        if (has(tokens[k], W.you)) you = true;
      }
      for (let k = Math.max(0, i - 12); k < i && !you; k++) if (has(tokens[k], W.you)) you = true;
      const hard = HARD_MODES.has(t.w);
      if (hard || (on && you))
        push(
          'frame.mode_switch',
          'jailbreak',
          hard ? 4 : 3,
          'switches the model into a privileged mode',
          i,
          i + 1,
          'mode name × mode',
        );
    }

    if (bits & W.persona && imperative(tokens, i, text) && !spokenAbout(tokens, i)) {
      const j = findAhead(
        tokens,
        i,
        10,
        (u, k) => has(u, W.modeName) || (has(u, W.lacking) && has(tokens[k + 1], W.limits)),
      );
      if (j >= 0)
        push(
          'frame.persona_unbound',
          'jailbreak',
          1.5,
          'asks the model to play an unrestricted persona',
          i,
          j,
          'persona verb × unrestricted',
        );
    }

    if (bits & W.role) {
      // "[ADMIN]", "###(system_message)", "<system>", "<|system|>": a role name fenced by brackets.
      const before = text.slice(Math.max(0, t.start - 3), t.start);
      const after = text.slice(t.end, t.end + 3);
      // Either at the start of a line (within 80 characters of markup) or in capitals.
      const lookback = text.slice(Math.max(0, t.start - 80), t.start);
      const nl = lookback.lastIndexOf('\n');
      const atLineStart = (nl >= 0 || t.start <= 80) && /^[\s#*>=~[(<{|-]*$/.test(lookback.slice(nl + 1));
      const raw = text.slice(t.start, t.end);
      const leads = atLineStart || raw === raw.toUpperCase();
      if (leads && /[[<({|]\s*$/.test(before) && /^\s*[\]>)}|:]/.test(after))
        push('frame.role_marker', 'impersonation', 3.5, 'fake privileged-role marker', i, i, 'bracketed role name');
    }
  }
  return out;
}
