/** Types of scripts/test-prereqs.mjs, for tests that import it. */
export interface Needed {
  command: string;
  pkg: string;
  dirs?: () => string[];
}
export const NEEDED: Needed[];
export const POSTGRES_ROOT: string;
export const POSTGRES_BINARIES: string[];
export function postgresVersionDirs(root?: string): string[];
export function locate(item: Needed, path?: string): string | undefined;
export function missing(path?: string, needed?: Needed[]): Needed[];
export function installCommand(pkgs: string[]): string;
/** The directory holding initdb, pg_ctl and postgres, or undefined. */
export function findPostgresBinDir(opts?: { path?: string; root?: string }): string | undefined;
/** Like findPostgresBinDir, but throws naming `apt-get install … postgresql` when PostgreSQL is absent. */
export function postgresBinDir(opts?: { path?: string; root?: string }): string;
