import RE2 from 're2';

/**
 * Structural readings of where a match sits, for text that gives instructions without being an attack:
 * a system prompt is full of imperatives addressed to the assistant, and defensive ones quote attacks.
 * What separates an attack is what the instruction does, not its words:
 *
 * - **Example turns.** A match on a line labelled as someone's input ("User: …", "Input: …"), or in a
 *   block under an "Examples" heading, that a labelled answer follows ("Response: …") is a worked
 *   example inside the text: data, not an order.
 * - **Forward overrides.** "Ignore any instructions in the user's message" sets aside input still to
 *   come; an attack sets aside what came before (it tries to supersede the earlier instructions).
 * - **Data-section delimiters.** A marker that opens a section for input ("%%% BEGIN UNTRUSTED INPUT")
 *   or a boundary marker with nothing after it delimits data; an attack's marker closes the prompt and
 *   is followed by the new orders.
 * - **Conditional replies.** "Say 'Access Granted' only if the input is the code" is a rule for answering
 *   later input; a hijack orders the reply outright.
 *
 * Every pattern with repeats here is RE2 (linear time); the few JavaScript ones are alternations of
 * literal words (no repeats beyond a single optional letter), linear by construction. Each reads a
 * bounded slice around the match (at most LINE_CHARS before and AFTER_CHARS after it, found by
 * bounded scans), so the work per match is constant.
 */

const LINE_CHARS = 200;
const AFTER_CHARS = 400;

/** A line opened by an input label: "User: …", "2) Input: …", "Math section input: …". */
const INPUT_LABEL = new RE2(
  '^\\W{0,3}(?:\\d{1,2}\\W{1,3})?(?:\\w+\\W{1,3}){0,2}?(?:user|human|input|prompt|query|question|attacker|attack|message|request|example|q|bad|malicious|hacker|text|entry|guess)\\W{0,3}(?:input|message|prompt|says|said|text|query)?\\s{0,3}[:>=\\]\\-]',
  'i',
);
/** A later line that answers the example: "Response: Access Denied", "Output: …", "You: …". */
const ANSWER_LABEL = new RE2(
  '\\n\\W{0,3}(?:\\w+\\W{1,3})?(?:response|responses|output|reply|answer|you|bot|ai|expected(?: output| response)?|a|correct response|your response)\\s{0,3}[:=>\\-]',
  'i',
);

/**
 * Text right after an override that names later input as what to set aside: "… in the user's message",
 * "… within it", "… provided below in the input", "… telling you to say 'Access Granted'".
 */
const FORWARD_AFTER = new RE2(
  '^\\W{0,3}(?:(?:that|which)\\W+(?:\\w+\\W+){0,2}?)?(?:(?:provided|given|written|contained|included|found|placed|appearing|embedded)\\W+)?(?:(?:in|within|inside|from|after|below|following|of|into)\\W+(?:\\w+\\W+){0,3}?(?:user|users|input|inputs|section|message|messages|text|query|queries|request|requests|them|it|anyone|people|attempt|attempts|below|following|next|entry|data|content|tool|document|stranger|visitor|hashtags|delimiters|tags|quotes)\\b|(?:telling|asking|trying|that ask|that tell|that try|that attempt)\\b)',
  'i',
);
/** Words inside the override itself that point at later input: "ignore any further instructions". */
const FORWARD_INNER = new RE2(
  "\\b(?:further|following|subsequent|future|later|upcoming|user'?s?|users'?|their|incoming|below|next|new|additional|other)\\b",
  'i',
);
/** Words that point back at earlier text: an override that holds one supersedes what came before. */
const EARLIER_INNER =
  /\b(?:previous|prior|above|preceding|earlier|before|original|initial|system|developers?|creators?)\b/i;

/** A marker that opens a section for data or input to come. */
const OPENS_DATA = new RE2(
  '\\b(?:begin|start)\\W+(?:of\\W+)?(?:the\\W+)?(?:\\w+\\W+){0,2}?(?:input|user|untrusted|data|document|text|message|query|attempt|entry|password|access code|code)\\b',
  'i',
);
/** Letters after a marker: the rest of the text holds words, so the marker may introduce something. */
const WORDS_AFTER = new RE2('[A-Za-z]{2,}(?:\\W+[A-Za-z]{2,}){2}');

/** A condition on later input before or after a forced reply: "if the input is …", "otherwise …". */
const CONDITION_BEFORE = new RE2(
  "(?:^|\\W)(?:(?:if|when|whenever|unless|only if|once)\\W+(?:\\w+\\W+){0,4}?(?:user|users|input|password|passcode|passphrase|code|phrase|word|text|message|they|person|someone|anyone|answer|response|entry|guess|it is|it's|it does)\\b|otherwise|else|for anything else|for any other|in any other case|in all other cases|for all other)",
  'i',
);
const CONDITION_AFTER = new RE2(
  "^[^.!?;\\n]{0,120}?\\b(?:if|when|whenever|unless|only if|otherwise)\\W+(?:\\w+\\W+){0,4}?(?:user|input|password|passcode|passphrase|code|phrase|word|text|message|they|person|someone|anyone|answer|response|entry|guess|it is|it's|correct|matches)\\b",
  'i',
);

/** The boundary-marker rule: not guarded (markers are structural), read only for data delimiters. */
export const DELIMITER_RULE = 'override.end_of_prompt';
/** How far after a forced reply its condition is looked for: the rest of the clause (CONDITION_AFTER reads 120 + 5 words). */
const CONDITION_AFTER_CHARS = 200;
/** Words any condition starts with: a literal alternation, so testing it first is cheap and linear. */
const CONDITION_WORD = /\b(?:if|when|whenever|unless|once|otherwise|else|for)\b/i;
/** Rules that force a reply: a system prompt sets the replies to later input by condition. */
const REPLY_RULE = /^output_forcing\.|^extraction\.verbatim$/;
/** Rules that set instructions aside. */
const OVERRIDE_RULE = /^(?:override\.(?:ignore|forget|disregard)|frame\.override_)/;

function lineBefore(text: string, index: number): string {
  const from = Math.max(0, index - LINE_CHARS);
  // A bounded backward scan: lastIndexOf would run to the start of a long text without line breaks.
  let k = index - 1;
  while (k >= from && text.charCodeAt(k) !== 10) k--;
  return text.slice(k + 1, index);
}

function clauseOf(before: string): string {
  let cut = 0;
  for (let k = before.length - 1; k >= 0; k--) {
    const c = before[k]!;
    if (c === '.' || c === '!' || c === '?' || c === ';' || c === '\n') {
      cut = k + 1;
      break;
    }
  }
  return before.slice(cut);
}

/** True when `line` holds a label mark (":", ">", …), checked before the label pattern runs. */
function hasLabelMark(line: string): boolean {
  for (let k = 0; k < line.length && k < 48; k++) {
    const c = line[k]!;
    if (c === ':' || c === '>' || c === '=' || c === ']' || c === '-') return true;
  }
  return false;
}

/** How far back an "Examples" heading is looked for. */
const HEADING_CHARS = 600;
/** The words an examples heading needs (a literal alternation: a cheap, linear test before EXAMPLE_HEADING). */
const HEADING_WORD = /example|sample/i;
/** A line that opens a block of examples: "Examples:", "Here are some examples of …", "EXAMPLES START". */
const EXAMPLE_HEADING = new RE2(
  '(?:^|\\n)\\W{0,6}(?:here\\s+are\\s+)?(?:some\\s+)?(?:examples?|sample\\s+(?:inputs?|conversations?|exchanges?|dialogues?))\\b',
  'i',
);

/**
 * Whether a guarded rule's match at [start, end) is the input side of a worked example (rule-independent):
 * on a line labelled as input, or in a block under an "Examples" heading, with a labelled answer after it.
 */
export function exampleTurn(text: string, start: number, end: number): string | undefined {
  // The answer is on a later line: without a line break after the match there is none.
  const after = text.slice(end, end + AFTER_CHARS);
  if (!after.includes('\n')) return undefined;
  const line = lineBefore(text, start);
  const labelled = hasLabelMark(line) && INPUT_LABEL.test(line);
  if (!labelled) {
    const head = text.slice(Math.max(0, start - HEADING_CHARS), start);
    if (!HEADING_WORD.test(head) || !EXAMPLE_HEADING.test(head)) return undefined;
  }
  if (!ANSWER_LABEL.test(after)) return undefined;
  return labelled
    ? 'an example of input, followed by the answer to give'
    : 'in a block of examples, followed by the answer to give';
}

/** Whether `rule` is one that structuralReading reads beyond the example test. */
export function readsStructure(rule: string): boolean {
  return rule === DELIMITER_RULE || OVERRIDE_RULE.test(rule) || REPLY_RULE.test(rule);
}

/**
 * Why the match of `rule` at [start, end) is part of the text's structure rather than an order aimed
 * at the model, beyond the example test, or undefined. Applies to guarded rules and to DELIMITER_RULE.
 * `endsText` is false when `text` is a chunk of a longer view, so "nothing after it" cannot be known.
 */
export function structuralReading(
  text: string,
  start: number,
  end: number,
  rule: string,
  endsText = true,
): string | undefined {
  if (rule === DELIMITER_RULE) {
    const marker = text.slice(start, end);
    if (OPENS_DATA.test(marker)) return 'opens a section for input to come (a data delimiter)';
    if (endsText && end + AFTER_CHARS >= text.length && !WORDS_AFTER.test(text.slice(end)))
      return 'a boundary marker with nothing after it';
    return undefined;
  }
  if (OVERRIDE_RULE.test(rule)) {
    const inner = text.slice(start, end);
    if (
      !EARLIER_INNER.test(inner) &&
      (FORWARD_INNER.test(inner) || FORWARD_AFTER.test(text.slice(end, end + AFTER_CHARS)))
    )
      return 'sets aside input still to come (a defence), not earlier instructions';
  }
  if (REPLY_RULE.test(rule)) {
    const clause = clauseOf(lineBefore(text, start));
    if (CONDITION_WORD.test(clause) && CONDITION_BEFORE.test(clause))
      return 'a reply set by a condition on later input';
    const after = text.slice(end, end + CONDITION_AFTER_CHARS);
    if (CONDITION_WORD.test(after) && CONDITION_AFTER.test(after)) return 'a reply set by a condition on later input';
  }
  return undefined;
}

/** How much of a text is read for the rule-set test: system prompts state their rules early. */
const RULESET_CHARS = 16 * 1024;
/** The input to come, spoken of in the third person: "the user", "the input", "if someone …". */
const LATER_INPUT = new RE2(
  "\\b(?:the|a|any|each|every)\\s+(?:user|users|input|attacker|person|human|visitor|player)\\b|\\buser'?s\\s+(?:input|message|prompt|request)|\\b(?:if|when|unless|whenever)\\s+(?:the\\s+)?(?:user|input|someone|anyone|they)\\b",
  'gi',
);
/** A reply fixed by a condition: "if … say …", "otherwise respond with …". */
const CONDITIONAL_REPLY = new RE2(
  '\\b(?:if|when|unless|otherwise|else)\\b[^.!?\\n]{0,160}?\\b(?:say|says|respond|reply|output|answer|print|write|return)\\b',
  'i',
);

/**
 * Whether `text` reads as a rule set for input still to come: it speaks of that input in the third
 * person at least twice and fixes a reply by a condition on it. That is how a system prompt is
 * written; an attack speaks to the model about what it should do now.
 */
export function rulesForLaterInput(text: string): boolean {
  const head = text.length > RULESET_CHARS ? text.slice(0, RULESET_CHARS) : text;
  if (!CONDITIONAL_REPLY.test(head)) return false;
  LATER_INPUT.lastIndex = 0;
  let n = 0;
  while (n < 2 && LATER_INPUT.exec(head) !== null) n++;
  return n >= 2;
}
