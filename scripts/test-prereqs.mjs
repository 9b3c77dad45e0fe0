#!/usr/bin/env node
// Before the test suite: the system tools the security suites need (the sandbox's bubblewrap and libseccomp tools,
// Chromium for the dashboard, PostgreSQL for the store's PostgreSQL suites, tools the containment suites run).
// Installs what is missing with apt-get when run as root; otherwise prints the one-line install command and fails.
// No suite is ever skipped for a missing tool.
//
// Tests find PostgreSQL's server binaries (initdb, pg_ctl, postgres) with `postgresBinDir()`:
//   import { postgresBinDir } from '../../scripts/test-prereqs.mjs';
//   const bin = postgresBinDir(); // e.g. /usr/lib/postgresql/15/bin; throws naming the install command when absent
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where Debian's `postgresql-NN` packages put the server binaries (they are not on PATH). */
export const POSTGRES_ROOT = '/usr/lib/postgresql';

/** The server binaries a test needs to start a throwaway PostgreSQL. */
export const POSTGRES_BINARIES = ['initdb', 'pg_ctl', 'postgres'];

/** `ROOT/NN/bin` for each installed PostgreSQL major version, newest first. */
export function postgresVersionDirs(root = process.env.GATEHOUSE_POSTGRES_ROOT ?? POSTGRES_ROOT) {
  let entries;
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  return entries
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
}

/**
 * Each needed command, the Debian package that provides it, and (`dirs`) where to look besides PATH.
 */
export const NEEDED = [
  { command: 'bwrap', pkg: 'bubblewrap' },
  { command: 'scmp_sys_resolver', pkg: 'seccomp' },
  { command: 'chromium', pkg: 'chromium' },
  { command: 'strace', pkg: 'strace' },
  { command: 'curl', pkg: 'curl' },
  { command: 'git', pkg: 'git' },
  { command: 'mount', pkg: 'util-linux' },
  { command: 'initdb', pkg: 'postgresql', dirs: () => postgresVersionDirs() },
];

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The full path of `item.command` in PATH's directories or the item's own, or undefined. */
export function locate(item, path = process.env.PATH ?? '') {
  const dirs = [...path.split(delimiter).filter(Boolean), ...(item.dirs?.() ?? [])];
  for (const d of dirs) if (executable(join(d, item.command))) return join(d, item.command);
  return undefined;
}

/** The commands of `needed` that are not on `path` (nor in their own directories). */
export function missing(path = process.env.PATH ?? '', needed = NEEDED) {
  return needed.filter((item) => locate(item, path) === undefined);
}

export function installCommand(pkgs) {
  return `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

/**
 * The directory holding PostgreSQL's `initdb`, `pg_ctl` and `postgres`, or undefined: `$GATEHOUSE_POSTGRES_BIN` if
 * set, else the newest `/usr/lib/postgresql/NN/bin`, else the real directory of an `initdb` on PATH.
 */
export function findPostgresBinDir({ path = process.env.PATH ?? '', root } = {}) {
  const complete = (d) => POSTGRES_BINARIES.every((b) => executable(join(d, b)));
  const fromEnv = process.env.GATEHOUSE_POSTGRES_BIN;
  if (fromEnv) return complete(fromEnv) ? fromEnv : undefined;
  for (const d of postgresVersionDirs(root)) if (complete(d)) return d;
  for (const d of path.split(delimiter).filter(Boolean)) {
    const initdb = join(d, 'initdb');
    if (!executable(initdb)) continue;
    const real = dirname(realpathSync(initdb));
    if (complete(real)) return real;
  }
  return undefined;
}

/** Like `findPostgresBinDir`, but a missing PostgreSQL is an error naming the package and the install command. */
export function postgresBinDir(opts = {}) {
  const dir = findPostgresBinDir(opts);
  if (dir) return dir;
  throw new Error(
    `PostgreSQL's server binaries (${POSTGRES_BINARIES.join(', ')}) were not found in ` +
      `${process.env.GATEHOUSE_POSTGRES_BIN ?? `${POSTGRES_ROOT}/*/bin or on PATH`}. ` +
      `Install them (as root):\n  ${installCommand(['postgresql'])}`,
  );
}

function main() {
  let gone = missing();
  if (gone.length === 0) return 0;
  const pkgs = [...new Set(gone.map((m) => m.pkg))];
  const names = gone.map((m) => m.command).join(', ');
  if (process.getuid?.() === 0 && process.env.GATEHOUSE_NO_INSTALL !== '1') {
    console.error(`test prerequisites: installing ${pkgs.join(' ')} (missing: ${names})`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [
      ['update', '-qq'],
      ['install', '-y', '-qq', '--no-install-recommends', ...pkgs],
    ]) {
      const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
      if (r.status !== 0) break;
    }
    gone = missing();
    if (gone.length === 0) return 0;
  }
  console.error(
    `test prerequisites missing: ${gone.map((m) => m.command).join(', ')}. The security suites need them and are never skipped.\n` +
      `Install them (as root):\n  ${installCommand([...new Set(gone.map((m) => m.pkg))])}`,
  );
  return 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exit(main());
