import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { Gatehouse } from '../gatehouse.js';
import type { AgentRecord, AgentStatus } from '../identity/agents.js';
import { IdentityCodes, IdentityError } from '../identity/errors.js';
import { KEY_ALGS, type KeyAlg } from '../identity/keys.js';
import { action, EXIT, printJson, withGatehouse } from './common.js';
import { printList, when } from './output.js';

/** The operator behind a CLI command, for the audit log. */
export function operator(): string {
  try {
    return `operator:${userInfo().username}`;
  } catch {
    return 'host';
  }
}

function keyAlg(v: string | undefined, flag: string): KeyAlg | undefined {
  if (v === undefined) return undefined;
  if (!(KEY_ALGS as readonly string[]).includes(v))
    throw new InputError(flag, `expected one of ${KEY_ALGS.join(', ')}, got "${v}"`);
  return v as KeyAlg;
}

function readKeyFile(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError('--public-key', `cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Bad keys and ids given on the command line are usage errors (exit 2), not runtime failures. */
async function asUsage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (
      err instanceof IdentityError &&
      (err.code === IdentityCodes.keyInvalid ||
        err.code === IdentityCodes.agentExists ||
        err.code === IdentityCodes.agentStatus)
    ) {
      throw new InputError('', err.message);
    }
    if (err instanceof IdentityError && err.code === IdentityCodes.agentUnknown)
      throw new InputError('ID', err.message);
    throw err;
  }
}

export function agentJson(gh: Gatehouse, a: AgentRecord): Record<string, unknown> {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    id: a.id,
    status: gh.identity.registry.effectiveStatus(a),
    statusReason: a.statusReason ?? null,
    roles: a.roles,
    description: a.description ?? null,
    source: a.source,
    spiffeId: gh.identity.ca.spiffeId(a.id),
    key: a.key ? { alg: a.key.alg, jkt: a.key.jkt, origin: a.key.origin } : null,
    generation: a.generation,
    createdAt: iso(a.createdAt),
    rotatedAt: iso(a.rotatedAt),
    nextRotationAt: iso(a.nextRotationAt),
    expiresAt: iso(a.expiresAt),
  };
}

/** Prints a generated private key once: to a 0600 file if asked, else on stdout. */
function handOut(pem: string | undefined, out: string | undefined): void {
  if (!pem) return;
  if (out) {
    writeFileSync(out, pem, { mode: 0o600, flag: 'wx' });
    process.stderr.write(`private key written to ${out} (mode 0600); Gatehouse will not show it again\n`);
  } else {
    process.stderr.write('private key follows; store it now, Gatehouse will not show it again\n');
    process.stdout.write(pem);
  }
}

export function registerAgents(program: Command): void {
  const agents = program
    .command('agents')
    .description('agent registry: register, list, show, roles, suspend, resume, revoke, quarantine, rotate, cert, crl');

  agents
    .command('register <name>')
    .description(
      'register an agent; its own public key is preferred (--public-key), else a key pair is generated and the private key shown once',
    )
    .option('--role <role...>', 'roles of the agent (repeatable)')
    .option('--public-key <file>', "the agent's public key (SPKI PEM or JWK)")
    .option(
      '--generate-key <alg>',
      `generate a key pair: ${KEY_ALGS.join(', ')} (default from identity.agent_key_algorithm)`,
    )
    .option('--no-key', 'no key: the agent acts only through the host (in-process library, local CLI)')
    .option('--private-key-out <file>', 'write a generated private key to this file (mode 0600) instead of stdout')
    .option('--description <text>', 'what the agent is for')
    .option('--expires <time>', 'ISO time after which the agent is expired')
    .option('--json', 'print one JSON object')
    .action(
      action(
        async (
          name: string,
          opts: {
            role?: string[];
            publicKey?: string;
            generateKey?: string;
            key: boolean;
            privateKeyOut?: string;
            description?: string;
            expires?: string;
            json?: boolean;
          },
          cmd: Command,
        ) => {
          const expiresAt = opts.expires === undefined ? undefined : Date.parse(opts.expires);
          if (expiresAt !== undefined && Number.isNaN(expiresAt))
            throw new InputError('--expires', `not a time: "${opts.expires}"`);
          if (opts.publicKey && opts.generateKey)
            throw new InputError('--public-key', 'give --public-key or --generate-key, not both');
          const publicKey = readKeyFile(opts.publicKey);
          return withGatehouse(cmd, async (gh) => {
            const generateKey =
              publicKey !== undefined || !opts.key
                ? undefined
                : (keyAlg(opts.generateKey, '--generate-key') ?? gh.identity.config.agent_key_algorithm);
            const r = await asUsage(() =>
              gh.identity.register(
                {
                  id: name,
                  roles: opts.role ?? [],
                  ...(opts.description ? { description: opts.description } : {}),
                  ...(publicKey !== undefined ? { publicKey } : {}),
                  ...(generateKey ? { generateKey } : {}),
                  ...(expiresAt !== undefined ? { expiresAt } : {}),
                },
                operator(),
              ),
            );
            if (opts.json) {
              if (r.privateKeyPem && opts.privateKeyOut) handOut(r.privateKeyPem, opts.privateKeyOut);
              printJson({
                agent: agentJson(gh, r.agent),
                ...(r.privateKeyPem && !opts.privateKeyOut ? { privateKey: r.privateKeyPem } : {}),
              });
            } else {
              process.stderr.write(`registered agent ${r.agent.id} (${gh.identity.ca.spiffeId(r.agent.id)})\n`);
              handOut(r.privateKeyPem, opts.privateKeyOut);
            }
            return EXIT.ok;
          });
        },
      ),
    );

  agents
    .command('list')
    .description('all agents with status, roles, key and generation')
    .option('--json', 'print one JSON object')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const all = await gh.identity.registry.list();
          const now = gh.clock.now();
          printList(
            opts,
            { agents: all.map((a) => agentJson(gh, a)) },
            {
              header: ['AGENT', 'STATUS', 'ROLES', 'KEY', 'GEN', 'KEY ROTATION'],
              rows: all.map((a) => [
                a.id,
                gh.identity.registry.effectiveStatus(a),
                a.roles.join(',') || '-',
                a.key ? `${a.key.alg} ${a.key.jkt.slice(0, 12)}` : 'no key',
                String(a.generation),
                a.nextRotationAt === undefined
                  ? '-'
                  : `${a.nextRotationAt <= now ? 'DUE ' : ''}${when(a.nextRotationAt)}`,
              ]),
              empty: 'no agents',
            },
          );
          return EXIT.ok;
        }),
      ),
    );

  agents
    .command('show <id>')
    .description('one agent, with its certificates')
    .option('--json', 'print one JSON object')
    .action(
      action(async (id: string, opts: { json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const a = await asUsage(async () => gh.identity.registry.require(id));
          const certs = (await gh.identity.ca.certificatesOf(id)).map((c) => ({
            serial: c.serial,
            notBefore: new Date(c.notBefore).toISOString(),
            notAfter: new Date(c.notAfter).toISOString(),
            revokedAt: c.revokedAt === undefined ? null : new Date(c.revokedAt).toISOString(),
          }));
          const out = { ...agentJson(gh, a), publicKey: a.key?.pem ?? null, certificates: certs };
          if (opts.json) printJson(out);
          else process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return EXIT.ok;
        }),
      ),
    );

  const statusCommand = (name: string, status: AgentStatus, what: string) =>
    agents
      .command(`${name} <id>`)
      .description(what)
      .option('--reason <text>', 'why (recorded in the audit log)')
      .option('--json', 'print one JSON object')
      .action(
        action(async (id: string, opts: { reason?: string; json?: boolean }, cmd: Command) =>
          withGatehouse(cmd, async (gh) => {
            const a = await asUsage(async () => {
              gh.identity.registry.require(id);
              return gh.identity.setStatus(id, status, {
                actor: operator(),
                ...(opts.reason ? { reason: opts.reason } : {}),
              });
            });
            if (opts.json) printJson({ agent: agentJson(gh, a) });
            else
              process.stdout.write(
                `agent ${id} is ${gh.identity.registry.effectiveStatus(a)} (generation ${a.generation})\n`,
              );
            return EXIT.ok;
          }),
        ),
      );
  statusCommand('suspend', 'suspended', 'suspend an agent: its tokens stop working at once; resume undoes it');
  statusCommand(
    'resume',
    'active',
    'return a suspended, quarantined or expired agent to active (a compromised one needs agents rotate)',
  );
  statusCommand('revoke', 'revoked', 'revoke an agent for good: tokens, refresh tokens and certificates die');
  statusCommand('quarantine', 'quarantined', 'quarantine an agent pending investigation');

  agents
    .command('roles <id> [roles...]')
    .description('replace the roles of a registered agent (declared agents take their roles from gatehouse.yaml)')
    .option('--json', 'print one JSON object')
    .action(
      action(async (id: string, roles: string[], opts: { json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const a = await asUsage(async () => {
            const current = gh.identity.registry.require(id);
            if (current.source === 'config') {
              throw new InputError('ID', `agent ${id} is declared in the configuration; change its roles there`);
            }
            return gh.identity.registry.setRoles(id, roles, operator());
          });
          if (opts.json) printJson({ agent: agentJson(gh, a) });
          else process.stdout.write(`agent ${id} has roles ${a.roles.join(', ') || '(none)'}\n`);
          return EXIT.ok;
        }),
      ),
    );

  agents
    .command('rotate <id>')
    .description(
      "replace the agent's key (its new public key, or a generated pair shown once); old tokens and certificates die",
    )
    .option('--public-key <file>', "the agent's new public key (SPKI PEM or JWK)")
    .option('--generate-key <alg>', `generate a new key pair: ${KEY_ALGS.join(', ')}`)
    .option('--private-key-out <file>', 'write a generated private key to this file (mode 0600) instead of stdout')
    .option('--json', 'print one JSON object')
    .action(
      action(
        async (
          id: string,
          opts: { publicKey?: string; generateKey?: string; privateKeyOut?: string; json?: boolean },
          cmd: Command,
        ) => {
          if (opts.publicKey && opts.generateKey)
            throw new InputError('--public-key', 'give --public-key or --generate-key, not both');
          const publicKey = readKeyFile(opts.publicKey);
          const generateKey = keyAlg(opts.generateKey, '--generate-key');
          return withGatehouse(cmd, async (gh) => {
            const r = await asUsage(async () => {
              gh.identity.registry.require(id);
              return gh.identity.rotate(
                id,
                { ...(publicKey !== undefined ? { publicKey } : {}), ...(generateKey ? { generateKey } : {}) },
                operator(),
              );
            });
            if (opts.json) {
              if (r.privateKeyPem && opts.privateKeyOut) handOut(r.privateKeyPem, opts.privateKeyOut);
              printJson({
                agent: agentJson(gh, r.agent),
                previousJkt: r.previousJkt ?? null,
                ...(r.privateKeyPem && !opts.privateKeyOut ? { privateKey: r.privateKeyPem } : {}),
              });
            } else {
              process.stderr.write(`agent ${id} now has key ${r.agent.key?.jkt} (generation ${r.agent.generation})\n`);
              handOut(r.privateKeyPem, opts.privateKeyOut);
            }
            return EXIT.ok;
          });
        },
      ),
    );

  agents
    .command('cert <id>')
    .description("print the agent's certificate chain in PEM (leaf, intermediate, root); issues one if none is current")
    .option('--renew', 'issue a new certificate even if the current one is before its half-life')
    .option('--json', 'print one JSON object')
    .action(
      action(async (id: string, opts: { renew?: boolean; json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const c = await asUsage(async () => {
            gh.identity.registry.require(id);
            return gh.identity.certificate(id, operator(), { renew: opts.renew === true });
          });
          if (opts.json) {
            printJson({
              serial: c.serial,
              spiffeId: c.spiffeId,
              notBefore: new Date(c.notBefore).toISOString(),
              notAfter: new Date(c.notAfter).toISOString(),
              renewAt: new Date(c.renewAt).toISOString(),
              chain: c.chainPem,
            });
          } else process.stdout.write(c.chainPem);
          return EXIT.ok;
        }),
      ),
    );

  agents
    .command('crl')
    .description('print the certificate revocation list in PEM')
    .action(
      action(async (_opts: unknown, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          process.stdout.write(await gh.identity.ca.crlPem());
          return EXIT.ok;
        }),
      ),
    );
}
