import type { Word } from './command.js';

/** getopt-style scanning of a program's arguments into options (with their arguments) and operands. */

export const DYN: Word = { value: null, prefix: '', downloads: false };

export function lit(value: string, from?: Word): Word {
  return { value, prefix: value, downloads: false, ...(from?.expands ? { expands: true } : {}) };
}

/** GNU getopt accepts every unambiguous prefix of a long option (`--target=` for `--target-directory=`). */
export function longIs(name: string, full: string): boolean {
  return name === full || (name.length >= 3 && full.startsWith(name));
}

export interface Opt {
  name: string;
  value?: Word;
}
export interface Scan {
  opts: Opt[];
  operands: Word[];
  /** A word only known at run time stands where an option could (`$X`, `-o$X`, `--output=$X`). */
  dynamic: boolean;
}

export interface Spec {
  /** Short options that take an argument (attached or the next word). */
  short?: string;
  /** Short options whose argument is optional and only attached (`sed -i[SUFFIX]`). */
  optional?: string;
  /** Long options that take an argument as the next word when not given with `=`. */
  long?: readonly string[];
}

/** Splits arguments into options (with their arguments) and operands, getopt style. */
export function scan(args: readonly Word[], spec: Spec): Scan {
  const opts: Opt[] = [];
  const operands: Word[] = [];
  let dynamic = false;
  let options = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = a.value;
    if (!options) {
      operands.push(a);
      continue;
    }
    if (v === null) {
      if (!a.findMatch && (a.prefix === '' || a.prefix.startsWith('-'))) dynamic = true;
      operands.push(a);
      continue;
    }
    if (v === '--') {
      options = false;
      continue;
    }
    if (v.startsWith('--')) {
      const eq = v.indexOf('=');
      const name = eq < 0 ? v.slice(2) : v.slice(2, eq);
      if (eq >= 0) opts.push({ name: `--${name}`, value: lit(v.slice(eq + 1), a) });
      else if (spec.long?.some((l) => longIs(name, l))) {
        opts.push({ name: `--${name}`, value: args[i + 1] ?? DYN });
        i++;
      } else opts.push({ name: `--${name}` });
      continue;
    }
    if (v.startsWith('-') && v.length > 1) {
      for (let k = 1; k < v.length; k++) {
        const ch = v[k]!;
        if (spec.optional?.includes(ch)) {
          opts.push({ name: `-${ch}`, value: lit(v.slice(k + 1), a) });
          break;
        }
        if (spec.short?.includes(ch)) {
          const rest = v.slice(k + 1);
          if (rest !== '') opts.push({ name: `-${ch}`, value: lit(rest, a) });
          else {
            opts.push({ name: `-${ch}`, value: args[i + 1] ?? DYN });
            i++;
          }
          break;
        }
        opts.push({ name: `-${ch}` });
      }
      continue;
    }
    operands.push(a);
  }
  return { opts, operands, dynamic };
}

/** Whether option `o` is one of `names` (`-o`, `--output`; long names may be abbreviated). */
export function is(o: Opt, names: readonly string[]): boolean {
  return names.some((n) =>
    n.startsWith('--') && o.name.startsWith('--') ? longIs(o.name.slice(2), n.slice(2)) : o.name === n,
  );
}
export function has(s: Scan, ...names: string[]): boolean {
  return s.opts.some((o) => is(o, names));
}
export function values(s: Scan, ...names: string[]): Word[] {
  return s.opts.flatMap((o) => (o.value && is(o, names) ? [o.value] : []));
}

export const STDOUT = (w: Word) => w.value === '-';
