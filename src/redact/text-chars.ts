/** Character classes of the scanners, on UTF-16 code units (no allocation, no regex on the hot path). */

export function startsWithAny(text: string, at: number, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (text.startsWith(p, at)) return true;
  return false;
}

export function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}

export function isWordCharCode(c: number): boolean {
  return isAlnum(c) || c === 95;
}

export function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** A token that continues a word (`xeyJ…`, `a_eyJ…`, `.eyJ…`) is not a token start. */
export function isWordBreak(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45 || c === 46;
}

/** A token prefix glued to a preceding letter or dot is part of another word or file name. */
export function isBoundaryBreak(c: number): boolean {
  return isLetter(c) || c === 46;
}

export function isAlnum(c: number): boolean {
  return isLetter(c) || (c >= 48 && c <= 57);
}

export function isIdentChar(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45 || c === 46;
}
