import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import ipaddr from 'ipaddr.js';
import { type ServerTlsConfig, ServerTlsSchema } from '../config/schema.js';
import { InputError } from '../core/errors.js';
import { LOG_LEVELS, parseLogLevel } from '../observability/logger.js';
import type { TlsSettings } from '../server/tls.js';
import { action, globalOptions } from './common.js';
import { initialise } from './init.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP(S) gateway (initialises gatehouse.yaml and the data dir on first run)')
    .option('--host <host>', 'address to listen on (default: server.host from the config, 127.0.0.1)')
    .option('--port <port>', 'port (default: server.port from the config, 7878)')
    .option('--tls', 'serve HTTPS (a server certificate from the Gatehouse CA unless --tls-cert/--tls-key are given)')
    .option('--tls-cert <file>', 'PEM certificate chain of your own PKI (implies --tls; needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert (unencrypted)')
    .option(
      '--client-certs <mode>',
      'client certificates, verified against the Gatehouse CA: off, optional, required (implies --tls)',
    )
    .option('--tls-name <name...>', 'DNS names and IP addresses of the Gatehouse-issued certificate (implies --tls)')
    .option(
      '--log-level <level>',
      'JSON request and decision logs on stdout: fatal, error, warn, info, debug, trace, silent (default: GATEHOUSE_LOG_LEVEL, else none)',
    )
    .action(
      action(async (opts: ServeOptions, cmd: Command) => {
        const g = globalOptions(cmd);
        const port = opts.port === undefined ? undefined : Number(opts.port);
        if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
          throw new InputError('--port', `expected a port number 0-65535, got "${opts.port}"`);
        }
        const levelText = opts.logLevel ?? process.env.GATEHOUSE_LOG_LEVEL;
        const logLevel = parseLogLevel(levelText);
        if (levelText !== undefined && logLevel === undefined) {
          throw new InputError('--log-level', `expected one of ${LOG_LEVELS.join(', ')}, got "${levelText}"`);
        }
        if (!existsSync(resolve(g.config))) {
          const r = await initialise(g.config, g.data);
          process.stderr.write(`first run: wrote ${r.config} and created ${r.data}\n`);
        }
        // Loaded here so that other commands do not pay for the HTTP stack.
        const { Gatehouse } = await import('../gatehouse.js');
        const { buildServer } = await import('../server/app.js');
        const { gatewayTls, isLoopback } = await import('../server/tls.js');
        const gh = await Gatehouse.open({ config: g.config, data: g.data });
        try {
          await gh.sandbox.ensureReady();
        } catch (err) {
          // Not fatal for the gateway: tools that need the sandbox are denied (sandbox.unavailable) until it is fixed.
          process.stderr.write(
            `gatehouse: WARNING: sandbox unavailable, sandboxed tools will be denied: ${(err as Error).message}\n`,
          );
        }
        let app: Awaited<ReturnType<typeof buildServer>> | undefined;
        let address: string;
        let tlsSettings: TlsSettings | undefined;
        try {
          tlsSettings = tlsFromFlags(opts, gh.config.server.tls, dirname(gh.configSource));
          const host = opts.host ?? gh.config.server.host;
          const tls = tlsSettings ? await gatewayTls(gh, tlsSettings) : undefined;
          app = await buildServer(gh, { ...(tls ? { tls } : {}), ...(logLevel ? { logger: logLevel } : {}) });
          if (!tls && !isLoopback(host)) {
            process.stderr.write(
              `gatehouse: WARNING: listening on ${host} without TLS: tokens and decisions cross the network in clear. ` +
                'Use --tls (or server.tls in the config), or bind 127.0.0.1 behind a TLS-terminating proxy.\n',
            );
          }
          address = await app.listen({ host, port: port ?? gh.config.server.port });
        } catch (err) {
          await app?.close();
          await gh.close();
          throw err;
        }
        const server = app;
        // Handlers go in before the "listening" line: a supervisor may stop us as soon as it reads it.
        const stopped = new Promise<void>((done) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            void server
              .close()
              .then(() => gh.close())
              .finally(done);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        const mode = tlsSettings ? `, client certificates ${tlsSettings.client_certs}` : '';
        process.stderr.write(
          `gatehouse listening on ${address} (policy epoch ${await gh.currentPolicyEpoch()}${mode}; store ${gh.store.location})\n`,
        );
        await stopped;
        return 0;
      }),
    );
}

interface ServeOptions {
  host?: string;
  port?: string;
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  clientCerts?: string;
  tlsName?: string[];
  logLevel?: string;
}

/**
 * The TLS settings in force: the config's `server.tls` (when enabled), overridden by any TLS flag. A flag turns
 * TLS on; --tls-cert/--tls-key or --tls-name replace the config's certificate source, they are not merged.
 * File paths come back absolute: flags relative to the working directory, config keys to the config file.
 */
function tlsFromFlags(
  opts: ServeOptions,
  config: ServerTlsConfig | undefined,
  configDir: string,
): TlsSettings | undefined {
  const base: TlsSettings | undefined = config?.enabled
    ? {
        ...config,
        ...(config.cert_file !== undefined && config.key_file !== undefined
          ? { cert_file: resolve(configDir, config.cert_file), key_file: resolve(configDir, config.key_file) }
          : {}),
      }
    : undefined;
  const flagged =
    opts.tls === true ||
    opts.tlsCert !== undefined ||
    opts.tlsKey !== undefined ||
    opts.clientCerts !== undefined ||
    opts.tlsName !== undefined;
  if (!flagged) return base;
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
    throw new InputError(
      opts.tlsCert === undefined ? '--tls-cert' : '--tls-key',
      '--tls-cert and --tls-key go together',
    );
  }
  if (opts.tlsCert !== undefined && opts.tlsName !== undefined) {
    throw new InputError('--tls-name', 'names the Gatehouse-issued certificate; it cannot go with --tls-cert');
  }
  const clientCerts = ServerTlsSchema.shape.client_certs.safeParse(opts.clientCerts ?? base?.client_certs);
  if (!clientCerts.success) {
    throw new InputError('--client-certs', `expected off, optional or required, got "${opts.clientCerts}"`);
  }
  const settings: TlsSettings = {
    ...(base ?? ServerTlsSchema.parse({})),
    client_certs: clientCerts.data,
  };
  if (opts.tlsCert !== undefined && opts.tlsKey !== undefined) {
    const { dns: _d, ips: _i, ...rest } = settings;
    return {
      ...rest,
      cert_file: resolve(opts.tlsCert),
      key_file: resolve(opts.tlsKey),
      names: { cert: '--tls-cert', key: '--tls-key' },
    };
  }
  if (opts.tlsName !== undefined) {
    const { cert_file: _c, key_file: _k, names: _n, ...rest } = settings;
    const bad = opts.tlsName.find((n) => !ipaddr.isValid(n) && !ServerTlsSchema.shape.dns.safeParse([n]).success);
    if (bad !== undefined) throw new InputError('--tls-name', `"${bad}" is neither a DNS name nor an IP address`);
    const dns = opts.tlsName.filter((n) => !ipaddr.isValid(n));
    return { ...rest, ...(dns.length > 0 ? { dns } : {}), ips: opts.tlsName.filter((n) => ipaddr.isValid(n)) };
  }
  return settings;
}
