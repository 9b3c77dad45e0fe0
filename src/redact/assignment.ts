/** Where the value of `<name> <op> <value>` starts and ends, walked by hand without backtracking. */

import { isAlnum, isIdentChar, isLetter, isSpace } from './text-chars.js';

/**
 * The `<identifier…> <op> <quote>` part of gitleaks' assignment template, walked once without backtracking:
 * up to 20 identifier characters, up to 3 spaces or quotes, an operator (= > := ::= => || ?= , :), up to 5
 * spaces, quotes or `=`. Returns where the value starts, or -1.
 */
export function assignValueStart(text: string, at: number): number {
  const n = text.length;
  let i = at;
  for (let k = 0; i < n && k < 20 && isIdentChar(text.charCodeAt(i)); k++) i++;
  for (let k = 0; i < n && k < 3; k++) {
    const c = text.charCodeAt(i);
    if (!isSpace(c) && c !== 34 && c !== 39) break;
    i++;
  }
  const c = text.charCodeAt(i);
  if (c === 61) {
    i++;
    if (text.charCodeAt(i) === 62) i++;
  } else if (c === 58) {
    let j = i;
    while (j < n && j - i < 3 && text.charCodeAt(j) === 58) j++;
    if (text.charCodeAt(j) === 61) j++;
    i = j;
  } else if (c === 62 || c === 44) i++;
  else if ((c === 124 && text.charCodeAt(i + 1) === 124) || (c === 63 && text.charCodeAt(i + 1) === 61)) i += 2;
  else return -1;
  for (let k = 0; i < n && k < 5; k++) {
    const d = text.charCodeAt(i);
    if (!isSpace(d) && d !== 96 && d !== 39 && d !== 34 && d !== 61) break;
    i++;
  }
  return i;
}

function isGenericValueChar(c: number): boolean {
  // A-Z a-z 0-9 _ . + / ~ @ ! # $ % ^ & * -
  return (
    isAlnum(c) ||
    c === 95 ||
    c === 46 ||
    c === 43 ||
    c === 47 ||
    c === 126 ||
    c === 64 ||
    c === 33 ||
    c === 35 ||
    c === 36 ||
    c === 37 ||
    c === 94 ||
    c === 38 ||
    c === 42 ||
    c === 45
  );
}

/** The value of `<name> <op> <value>` for the generic tier, scanned once; quoted values may hold any printable. */
export function genericValueAt(text: string, idEnd: number): { start: number; end: number } | undefined {
  const n = text.length;
  let i = idEnd;
  const quotedName = text.charCodeAt(i) === 34 || text.charCodeAt(i) === 39;
  if (quotedName) i++;
  for (let k = 0; k < 3 && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9); k++) i++;
  const op = text.charCodeAt(i);
  let needQuotedValue = false;
  if (op === 58) i += text.charCodeAt(i + 1) === 61 ? 2 : 1;
  else if (op === 44 && quotedName) {
    // `getenv("API_TOKEN", "value")`: a quoted name and a quoted value as call arguments.
    i++;
    needQuotedValue = true;
  } else if (op === 61) {
    if (text.charCodeAt(i + 1) === 61) return undefined; // a comparison, not an assignment
    i += text.charCodeAt(i + 1) === 62 ? 2 : 1;
  } else if (op === 105 && text.charCodeAt(i + 1) === 115 && isSpace(text.charCodeAt(i + 2))) {
    // Prose: `the password is 'Xk9…'`. Only a quoted value counts (`the password is required` is a sentence).
    i += 2;
    needQuotedValue = true;
  } else return undefined;
  for (let k = 0; k < 3 && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9); k++) i++;
  const q = text.charCodeAt(i);
  if (q === 92 && (text.charCodeAt(i + 1) === 34 || text.charCodeAt(i + 1) === 39)) {
    // A value quoted inside another string (`"$password = \"…\";"`, JSON holding code): it ends at the escaped quote.
    const eq = text.charCodeAt(i + 1);
    const start = i + 2;
    let j = start;
    while (j < n && j - start <= 200) {
      const c = text.charCodeAt(j);
      if (c === 92) break;
      // No spaces: a value escaped inside code or JSON is one token, and a space ends a runaway scan early.
      if (c === 10 || c === 13 || c === 32 || c === 9 || c === eq) return undefined;
      j++;
    }
    if (text.charCodeAt(j) !== 92 || text.charCodeAt(j + 1) !== eq || j - start < 6) return undefined;
    return { start, end: j };
  }
  if (q === 34 || q === 39 || q === 96) {
    const start = i + 1;
    let j = start;
    while (j < n && j - start <= 200) {
      const c = text.charCodeAt(j);
      if (c === q) break;
      if (c === 10 || c === 13 || c === 92) return undefined;
      j++;
    }
    if (j >= n || text.charCodeAt(j) !== q || j - start < 6 || j - start > 200) return undefined;
    return { start, end: j };
  }
  if (needQuotedValue) return undefined;
  const start = i;
  let j = start;
  while (j < n && j - start <= 200 && isGenericValueChar(text.charCodeAt(j))) j++;
  for (let k = 0; k < 2 && text.charCodeAt(j) === 61; k++) j++;
  if (j - start < 8 || j - start > 202) return undefined;
  if (j < n) {
    const t = text.charCodeAt(j);
    if (!isSpace(t) && t !== 44 && t !== 59 && t !== 41 && t !== 125 && t !== 93) return undefined;
  }
  return { start, end: j };
}

/** Length of the run of non-space, non-quote characters at `at` (bounded): where an assigned value must fit. */
export function valueRunLength(text: string, at: number, max: number): number {
  let j = at;
  const end = Math.min(text.length, at + max);
  while (j < end) {
    const c = text.charCodeAt(j);
    if (isSpace(c) || c === 34 || c === 39 || c === 96) break;
    j++;
  }
  return j - at;
}

/**
 * An assign rule's vendor keyword must start a word or a camelCase part (`MERAKI_KEY`, `myMeraki`), not sit
 * inside another word (`CameraKit`). `s` is where the keyword starts.
 */
export function assignKeywordStarts(text: string, s: number): boolean {
  if (s === 0) return true;
  const prev = text.charCodeAt(s - 1);
  if (!isLetter(prev)) return true;
  const first = text.charCodeAt(s);
  return first >= 65 && first <= 90 && prev >= 97 && prev <= 122;
}
