import type { CredentialsConfig } from '../config/sections/credentials.js';
import type { CredentialBackend, CredentialInfo } from './backend.js';

/** Read-only credentials taken from the Gatehouse process's environment, as mapped in `credentials.env`. */
export class EnvBackend implements CredentialBackend {
  readonly name = 'env';

  constructor(
    private readonly mapping: CredentialsConfig['env'],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async list(): Promise<CredentialInfo[]> {
    return Object.keys(this.mapping)
      .sort()
      .map((n) => this.describe(n))
      .filter((i) => i !== undefined);
  }

  async info(name: string): Promise<CredentialInfo | undefined> {
    return this.describe(name);
  }

  private describe(name: string): CredentialInfo | undefined {
    const m = this.mapping[name];
    if (!m) return undefined;
    return { name, backend: 'env', agents: [...m.agents], tools: [...m.tools] };
  }

  async reveal(name: string): Promise<string | undefined> {
    const m = this.mapping[name];
    if (!m) return undefined;
    const v = this.env[m.var];
    return v === undefined || v === '' ? undefined : v;
  }
}
