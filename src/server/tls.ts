import { createPrivateKey, type KeyObject, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions, type TLSSocket, type Server as TlsServer } from 'node:tls';
import ipaddr from 'ipaddr.js';
import type { ServerTlsConfig } from '../config/schema.js';
import { ConfigError, describeError } from '../core/errors.js';
import type { Gatehouse } from '../gatehouse.js';

export type ClientCertMode = ServerTlsConfig['client_certs'];

/** What buildServer needs to listen with HTTPS. */
export interface GatewayTls {
  /** Key, certificate chain and client-certificate settings for the HTTPS listener. */
  options: SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean };
  clientCerts: ClientCertMode;
  /** `gatehouse-ca`: issued at start by Gatehouse's own CA; `files`: cert_file/key_file. */
  source: 'gatehouse-ca' | 'files';
  /** Expiry of the server certificate (ms since the epoch). */
  notAfter: number;
  /** Issues fresh options (Gatehouse-issued certificates only); buildServer calls it at half-life. */
  renew?: () => Promise<GatewayTls>;
}

export interface TlsSettings extends ServerTlsConfig {
  /** Where cert_file and key_file were named: config keys, or CLI flags. Used in error messages. */
  names?: { cert: string; key: string };
}

/**
 * Builds the HTTPS settings of the gateway from `server.tls`. Fails closed: a file that cannot be read, is not
 * PEM, has expired or does not match its key is a ConfigError naming the file and the problem, never plain HTTP.
 * Client certificates, when asked for, are verified against the Gatehouse CA chain.
 *
 * @example
 * const tls = await gatewayTls(gh, gh.config.server.tls!, dirname(gh.configSource));
 * const app = await buildServer(gh, { tls });
 */
export async function gatewayTls(gh: Gatehouse, settings: TlsSettings, baseDir = process.cwd()): Promise<GatewayTls> {
  const client = clientOptions(gh, settings.client_certs);
  if (settings.cert_file !== undefined && settings.key_file !== undefined) {
    const names = settings.names ?? { cert: 'server.tls.cert_file', key: 'server.tls.key_file' };
    const certFile = resolvePath(baseDir, settings.cert_file);
    const keyFile = resolvePath(baseDir, settings.key_file);
    const chain = readCertificateChain(certFile, names.cert, gh.clock.now());
    const key = readPrivateKey(keyFile, names.key);
    if (!chain.leaf.checkPrivateKey(key.object) || !proves(key.object, chain.leaf)) {
      throw new ConfigError(keyFile, undefined, names.key, `the key does not match the certificate in ${certFile}`);
    }
    const options = { ...client, key: key.pem, cert: chain.pem, minVersion: 'TLSv1.2' as const };
    try {
      createSecureContext(options);
    } catch (err) {
      throw new ConfigError(certFile, undefined, names.cert, `TLS rejected the certificate: ${describeError(err)}`);
    }
    return { options, clientCerts: settings.client_certs, source: 'files', notAfter: Date.parse(chain.leaf.validTo) };
  }
  return issued(gh, settings, client);
}

async function issued(
  gh: Gatehouse,
  settings: TlsSettings,
  client: Pick<GatewayTls['options'], 'requestCert' | 'rejectUnauthorized' | 'ca'>,
): Promise<GatewayTls> {
  const t = await gh.identity.serverTls(
    { dns: settings.dns ?? ['localhost'], ips: settings.ips ?? ['127.0.0.1', '::1'] },
    { lifetimeMs: settings.cert_lifetime, actor: 'gateway' },
  );
  return {
    options: { ...client, key: t.key, cert: t.cert, minVersion: 'TLSv1.2' },
    clientCerts: settings.client_certs,
    source: 'gatehouse-ca',
    notAfter: t.notAfter,
    renew: () => issued(gh, settings, clientOptions(gh, settings.client_certs)),
  };
}

/**
 * `required` lets OpenSSL refuse a handshake without a certificate chaining to the Gatehouse CA; `optional` asks
 * for one and leaves the verdict to Gatehouse (so a bad certificate is a 401 naming the reason, and an agent
 * without one may still use a token). Revocation and agent status are always Gatehouse's own check.
 */
function clientOptions(
  gh: Gatehouse,
  mode: ClientCertMode,
): Pick<GatewayTls['options'], 'requestCert' | 'rejectUnauthorized' | 'ca'> {
  if (mode === 'off') return { requestCert: false, rejectUnauthorized: false };
  return { requestCert: true, rejectUnauthorized: mode === 'required', ca: gh.identity.ca.chainPem() };
}

/**
 * With `client_certs: required`, closes each connection whose certificate (already chained to the CA by the
 * handshake) does not name an active agent with that key, and is not revoked: routes that need no credentials
 * (health, CA chain, dashboard) are then closed to a revoked agent too.
 */
export function enforceClientCertificates(server: TlsServer, gh: Gatehouse): void {
  server.on('secureConnection', (socket: TLSSocket) => {
    const peer = socket.getPeerCertificate(false);
    try {
      if (!peer || !Buffer.isBuffer(peer.raw) || peer.raw.length === 0) throw new Error('no client certificate');
      gh.identity.verifyCertificate(new X509Certificate(peer.raw).toString());
    } catch {
      socket.destroy();
    }
  });
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (!ipaddr.isValid(host)) return false;
  const addr = ipaddr.process(host);
  return addr.range() === 'loopback';
}

function resolvePath(baseDir: string, file: string): string {
  return isAbsolute(file) ? file : resolve(baseDir, file);
}

function readPem(file: string, name: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      file,
      undefined,
      name,
      code === 'ENOENT' ? 'file not found' : `cannot read: ${code ?? describeError(err)}`,
    );
  }
}

const BEGIN_CERT = '-----BEGIN CERTIFICATE-----';
const END_CERT = '-----END CERTIFICATE-----';

/** The CERTIFICATE blocks of a PEM file, in order (indexOf scanning: linear in the file size). */
function certificateBlocks(text: string): string[] {
  const blocks: string[] = [];
  for (let at = text.indexOf(BEGIN_CERT); at !== -1; at = text.indexOf(BEGIN_CERT, at)) {
    const end = text.indexOf(END_CERT, at);
    if (end === -1) break;
    blocks.push(text.slice(at, end + END_CERT.length));
    at = end + END_CERT.length;
  }
  return blocks;
}

function readCertificateChain(file: string, name: string, now: number): { pem: string; leaf: X509Certificate } {
  const text = readPem(file, name);
  const blocks = certificateBlocks(text);
  if (blocks.length === 0) throw new ConfigError(file, undefined, name, 'no PEM certificate (BEGIN CERTIFICATE) found');
  const certs = blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new ConfigError(file, undefined, name, `certificate ${i + 1} is not valid PEM: ${describeError(err)}`);
    }
  });
  for (let i = 0; i + 1 < certs.length; i++) {
    if (!certs[i]!.checkIssued(certs[i + 1]!) || !certs[i]!.verify(certs[i + 1]!.publicKey)) {
      throw new ConfigError(
        file,
        undefined,
        name,
        `certificate ${i + 1} is not signed by certificate ${i + 2}: the chain must run leaf first, each followed by its issuer`,
      );
    }
  }
  const leaf = certs[0]!;
  if (now < Date.parse(leaf.validFrom)) {
    throw new ConfigError(file, undefined, name, `the certificate is not valid before ${leaf.validFrom}`);
  }
  if (now >= Date.parse(leaf.validTo)) {
    throw new ConfigError(file, undefined, name, `the certificate expired at ${leaf.validTo}`);
  }
  return { pem: `${blocks.join('\n')}\n`, leaf };
}

function readPrivateKey(file: string, name: string): { pem: string; object: KeyObject } {
  const pem = readPem(file, name);
  if (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || pem.includes('Proc-Type: 4,ENCRYPTED')) {
    throw new ConfigError(file, undefined, name, 'the key is encrypted; give an unencrypted key (mode 0600)');
  }
  try {
    const object = createPrivateKey({ key: pem, format: 'pem' });
    return { pem, object };
  } catch (err) {
    throw new ConfigError(file, undefined, name, `not a PEM private key: ${describeError(err)}`);
  }
}

/**
 * A signature made with the key verifies under the certificate's public key. checkPrivateKey alone can be fooled
 * by a damaged key whose embedded public part is intact (PKCS#8 EC keys carry one).
 */
function proves(key: KeyObject, cert: X509Certificate): boolean {
  const data = randomBytes(32);
  const digest = key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? null : 'sha256';
  try {
    return verify(digest, data, cert.publicKey, sign(digest, data, key));
  } catch {
    return false;
  }
}
