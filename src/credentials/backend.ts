import { GatehouseError } from '../core/errors.js';

/** What is known about a credential without revealing it. */
export interface CredentialInfo {
  name: string;
  backend: string;
  /** Agent ids (glob `*`) that may use it. Empty: nobody. */
  agents: string[];
  /** Tool names (glob `*`) it may be resolved for. Empty: none. */
  tools: string[];
  createdAt?: number;
  updatedAt?: number;
}

/**
 * Where credential values live. The local vault is the default; environment variables are read-only; a
 * 1Password Connect or HashiCorp Vault client implements the same three methods.
 */
export interface CredentialBackend {
  readonly name: string;
  list(): Promise<CredentialInfo[]>;
  info(name: string): Promise<CredentialInfo | undefined>;
  /** The value, for the broker only. Undefined when the backend has no such credential. */
  reveal(name: string): Promise<string | undefined>;
}

/** A backend that can store credentials (the local vault). */
export interface WritableCredentialBackend extends CredentialBackend {
  put(name: string, value: string, scope: { agents: string[]; tools: string[] }): Promise<CredentialInfo>;
  remove(name: string): Promise<boolean>;
}

export class CredentialError extends GatehouseError {
  readonly credential: string;
  constructor(code: string, credential: string, message: string) {
    super(code, message);
    this.credential = credential;
  }
}

export const CREDENTIAL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** `*` matches any run of characters; everything else literally. */
export function globMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(value);
}

export function inScope(info: CredentialInfo, agent: string, tool: string): boolean {
  return info.agents.some((a) => globMatch(a, agent)) && info.tools.some((t) => globMatch(t, tool));
}
