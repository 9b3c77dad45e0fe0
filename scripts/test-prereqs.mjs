#!/usr/bin/env node
// Before the test suite: the system tools the security suites need (the sandbox's bubblewrap and libseccomp tools,
// Chromium for the dashboard, tools the containment suites run, the PostgreSQL server the shared-store suites start). Installs what is missing with apt-get when run as
// root; otherwise prints the one-line install command and fails. No suite is ever skipped for a missing tool.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Each needed command, and the Debian package that provides it. */
export const NEEDED = [
  { command: 'bwrap', pkg: 'bubblewrap' },
  { command: 'scmp_sys_resolver', pkg: 'seccomp' },
  { command: 'chromium', pkg: 'chromium' },
  { command: 'strace', pkg: 'strace' },
  { command: 'curl', pkg: 'curl' },
  { command: 'git', pkg: 'git' },
  { command: 'mount', pkg: 'util-linux' },
  // Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<version>/bin.
  { command: 'initdb', pkg: 'postgresql', under: '/usr/lib/postgresql' },
];

/** The bin directories of every installed PostgreSQL version under `root`. */
function versionDirs(root) {
  try {
    return readdirSync(root).map((v) => join(root, v, 'bin'));
  } catch {
    return [];
  }
}

/** The commands of `needed` that are not on `path`. */
export function missing(path = process.env.PATH ?? '', needed = NEEDED) {
  const dirs = path.split(delimiter).filter(Boolean);
  return needed.filter(({ command, under }) =>
    [...dirs, ...(under ? versionDirs(under) : [])].every((d) => {
      try {
        accessSync(join(d, command), constants.X_OK);
        return false;
      } catch {
        return true;
      }
    }),
  );
}

export function installCommand(pkgs) {
  return `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
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

// Run as a script (`node scripts/test-prereqs.mjs`), not when a test imports it. Compared as file URLs of the real path:
// a checkout under a path with a space or behind a symlink must not make this step a silent no-op.
const invoked = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : '';
if (import.meta.url === invoked) process.exit(main());
