/**
 * The files a GNU sed script writes: `w FILE` and `W FILE` commands and the `w FILE` flag of `s///`, each file
 * name running to the end of its line (`;` included, as sed reads it). One pass over the script, so linear in its
 * length. A script this parser cannot follow is reported as unknown: the caller denies it (sed would reject most
 * such scripts anyway, so nothing that runs is lost).
 */
export type SedWrites = { files: string[] } | { unknown: string };

/** Commands that take no argument (`p`, `d`, …) or an optional number (`q5`, `l 40`). */
const PLAIN = new Set(['=', 'd', 'D', 'g', 'G', 'h', 'H', 'n', 'N', 'p', 'P', 'x', 'z', 'F', 'l', 'L', 'q', 'Q']);

export function sedWrites(script: string): SedWrites {
  const files: string[] = [];
  const n = script.length;
  let i = 0;
  const space = () => {
    while (i < n && (script[i] === ' ' || script[i] === '\t')) i++;
  };
  /** The rest of the line from `i` (after leading blanks), consumed. */
  const line = (): string => {
    space();
    const end = script.indexOf('\n', i);
    const text = script.slice(i, end < 0 ? n : end);
    i = end < 0 ? n : end;
    return text;
  };
  /** Skips a delimited part (`/regex/`, `|repl|`) ending at an unescaped `delim`; brackets in a regex hold it. */
  const delimited = (delim: string, regex: boolean): boolean => {
    while (i < n) {
      const c = script[i]!;
      if (c === '\\') i += 2;
      else if (c === delim) {
        i++;
        return true;
      } else if (regex && c === '[') {
        // A bracket expression: `]` first (or after `^`) is literal; `[:alpha:]` classes nest one level.
        i++;
        if (script[i] === '^') i++;
        if (script[i] === ']') i++;
        while (i < n && script[i] !== ']') {
          if (script[i] === '[' && (script[i + 1] === ':' || script[i + 1] === '.' || script[i + 1] === '=')) {
            const close = script.indexOf(`${script[i + 1]}]`, i + 2);
            if (close < 0) return false;
            i = close + 2;
          } else i++;
        }
        i++;
      } else i++;
    }
    return false;
  };
  const address = (): boolean => {
    const c = script[i];
    if (c === undefined) return true;
    if (/[0-9]/.test(c)) {
      while (i < n && /[0-9~]/.test(script[i]!)) i++;
    } else if (c === '$') i++;
    else if (c === '/' || c === '\\') {
      const delim = c === '/' ? '/' : script[i + 1];
      if (delim === undefined || delim === '\n') return false;
      i += c === '/' ? 1 : 2;
      if (!delimited(delim, true)) return false;
      while (i < n && (script[i] === 'I' || script[i] === 'M')) i++;
    }
    return true;
  };
  while (i < n) {
    const c = script[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === ';' || c === '{' || c === '}') {
      i++;
      continue;
    }
    if (c === '#') {
      line();
      continue;
    }
    if (!address()) return { unknown: 'an unterminated address' };
    space();
    if (script[i] === ',') {
      i++;
      space();
      if (script[i] === '+' || script[i] === '~') i++;
      if (!address()) return { unknown: 'an unterminated address' };
    }
    space();
    while (script[i] === '!') {
      i++;
      space();
    }
    const cmd = script[i];
    if (cmd === undefined) return { unknown: 'an address without a command' };
    i++;
    if (cmd === '{' || cmd === '}') continue;
    if (PLAIN.has(cmd)) {
      space();
      while (i < n && /[0-9]/.test(script[i]!)) i++;
    } else if (cmd === ':' || cmd === 'b' || cmd === 't' || cmd === 'T' || cmd === 'v') {
      // A label runs to `;` or the end of the line.
      while (i < n && script[i] !== ';' && script[i] !== '\n') i++;
    } else if (cmd === 'a' || cmd === 'i' || cmd === 'c') {
      // Text to the end of the line; a line ending in a backslash continues it.
      while (i < n && script[i] !== '\n') i += script[i] === '\\' ? 2 : 1;
    } else if (cmd === 'r' || cmd === 'R' || cmd === 'e') line();
    else if (cmd === 'w' || cmd === 'W') files.push(line());
    else if (cmd === 's' || cmd === 'y') {
      const delim = script[i];
      if (delim === undefined || delim === '\n' || delim === '\\')
        return { unknown: `a ${cmd} command without a delimiter` };
      i++;
      if (!delimited(delim, cmd === 's') || !delimited(delim, false))
        return { unknown: `an unterminated ${cmd} command` };
      if (cmd === 's') {
        while (i < n && /[gpiImMe0-9]/.test(script[i]!)) i++;
        if (script[i] === 'w') {
          i++;
          files.push(line());
        }
      }
    } else return { unknown: `the sed command ${JSON.stringify(cmd)}` };
    space();
    const next = script[i];
    if (next !== undefined && next !== ';' && next !== '\n' && next !== '}' && next !== '#')
      return { unknown: `text after the sed command ${JSON.stringify(cmd)}` };
  }
  return { files };
}
