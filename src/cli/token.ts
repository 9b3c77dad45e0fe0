import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { IdentityCodes, IdentityError } from '../identity/errors.js';
import { operator } from './agents.js';
import { action, EXIT, printJson, readStdin, withGatehouse } from './common.js';

export function registerToken(program: Command): void {
  const token = program.command('token').description('access tokens: issue, verify, refresh, revoke');

  token
    .command('issue <agent>')
    .description('issue an access token (and refresh token) for an agent, with operator authority')
    .option('--session <id>', 'bind the token to this session id')
    .option('--no-refresh', 'no refresh token')
    .option('--json', 'print the token response as one JSON object')
    .action(
      action(async (agent: string, opts: { session?: string; refresh: boolean; json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          if (!gh.identity.registry.get(agent)) throw new InputError('AGENT', `agent ${agent} is not registered`);
          const r = await gh.identity.issueToken(agent, {
            actor: operator(),
            refresh: opts.refresh,
            ...(opts.session ? { session: opts.session } : {}),
          });
          if (opts.json) printJson(r);
          else process.stdout.write(`${r.access_token}\n`);
          return EXIT.ok;
        }),
      ),
    );

  token
    .command('verify')
    .description('verify an access token read from stdin; exit 0 valid, 3 invalid (reason code on stderr)')
    .option('--json', 'print one JSON object')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const text = (await readStdin()).trim();
        if (!text) throw new InputError('stdin', 'expected an access token on stdin');
        return withGatehouse(cmd, async (gh) => {
          try {
            const t = await gh.identity.tokens.verify(text);
            const out = {
              valid: true,
              agent: t.agent,
              jti: t.jti,
              generation: t.generation,
              session: t.session ?? null,
              jkt: t.jkt,
              issuedAt: new Date(t.iat * 1000).toISOString(),
              expiresAt: new Date(t.exp * 1000).toISOString(),
            };
            if (opts.json) printJson(out);
            else process.stdout.write(`valid: agent ${t.agent}, jti ${t.jti}, expires ${out.expiresAt}\n`);
            return EXIT.ok;
          } catch (err) {
            if (!(err instanceof IdentityError)) throw err;
            if (opts.json) printJson({ valid: false, code: err.code, message: err.message });
            else process.stderr.write(`invalid: ${err.code}: ${err.message}\n`);
            return EXIT.denied;
          }
        });
      }),
    );

  token
    .command('refresh [refresh_token]')
    .description(
      'exchange a refresh token (argument or stdin) for a new access and refresh token; the old one is spent',
    )
    .option('--json', 'print the token response as one JSON object')
    .action(
      action(async (arg: string | undefined, opts: { json?: boolean }, cmd: Command) => {
        const rt = (arg ?? (await readStdin())).trim();
        if (!rt) throw new InputError('refresh_token', 'expected a refresh token as argument or on stdin');
        return withGatehouse(cmd, async (gh) => {
          try {
            const r = await gh.identity.tokens.refresh(rt, operator());
            if (opts.json) printJson(r);
            else process.stdout.write(`${r.access_token}\n${r.refresh_token}\n`);
            return EXIT.ok;
          } catch (err) {
            if (!(err instanceof IdentityError)) throw err;
            if (opts.json) printJson({ error: err.code, message: err.message });
            else process.stderr.write(`gatehouse: ${err.code}: ${err.message}\n`);
            return err.code === IdentityCodes.refreshInvalid ? EXIT.usage : EXIT.denied;
          }
        });
      }),
    );

  token
    .command('revoke [jti]')
    .description(
      'revoke an access token by its jti (deny-listed until it expires), or every token of an agent with --agent',
    )
    .option('--agent <id>', 'kill switch: every access and refresh token of this agent (bumps its generation)')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print one JSON object')
    .action(
      action(
        async (jti: string | undefined, opts: { agent?: string; reason?: string; json?: boolean }, cmd: Command) => {
          if ((jti === undefined) === (opts.agent === undefined))
            throw new InputError('JTI', 'give a token id or --agent, not both');
          if (jti !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(jti))
            throw new InputError('JTI', 'expected a token id (base64url)');
          const reason = opts.reason ?? 'revoked_by_operator';
          return withGatehouse(cmd, async (gh) => {
            if (opts.agent !== undefined) {
              const id = opts.agent;
              if (!gh.identity.registry.get(id)) throw new InputError('--agent', `agent ${id} is not registered`);
              const a = await gh.identity.registry.bumpGeneration(id, { actor: operator(), reason });
              const families = await gh.identity.tokens.revokeAgentFamilies(id, reason, operator());
              if (opts.json) printJson({ agent: id, generation: a.generation, refreshFamiliesRevoked: families });
              else
                process.stdout.write(
                  `every token of ${id} is dead (generation ${a.generation}, ${families} refresh families revoked)\n`,
                );
              return EXIT.ok;
            }
            const revoked = await gh.identity.tokens.revokeAccess(jti!, reason, operator());
            if (opts.json) printJson({ jti, revoked });
            else process.stdout.write(revoked ? `revoked ${jti}\n` : `${jti} was already revoked\n`);
            return EXIT.ok;
          });
        },
      ),
    );
}
