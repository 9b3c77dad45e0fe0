import { BlockList, isIPv4 } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import type { IdentityConfig } from '../config/sections/identity.js';
import type { Credentials } from '../core/pipeline.js';

export interface CredentialOptions {
  /**
   * Header in which a TLS-terminating proxy you trust passes the verified client certificate (URL-encoded PEM,
   * as nginx's `$ssl_client_escaped_cert`). Unset: only a certificate from this server's own TLS handshake counts.
   */
  clientCertHeader?: string | undefined;
  /**
   * Socket addresses allowed to set `clientCertHeader`. A certificate is public, so a header from anyone else
   * would hand its agent's identity to whoever can reach the port: without a match the header is ignored.
   */
  trustedProxies?: BlockList | undefined;
}

/** The credential options of an identity config, built once per server. */
export function credentialOptions(
  cfg: Pick<IdentityConfig, 'client_cert_header' | 'trusted_proxies'>,
): CredentialOptions {
  return { clientCertHeader: cfg.client_cert_header, trustedProxies: trustedProxyList(cfg.trusted_proxies) };
}

/** A BlockList of IPs and CIDRs (validated by the identity config schema). */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const [addr = '', prefix] = e.split('/');
    const family = isIPv4(addr) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(prefix), family);
  }
  return list;
}

/** Whether the request's own socket peer (never a forwarded header) is a trusted proxy. */
export function fromTrustedProxy(req: FastifyRequest, list: BlockList | undefined): boolean {
  const addr = req.raw.socket?.remoteAddress;
  if (!list || typeof addr !== 'string') return false;
  // IPv4 peers on a dual-stack socket appear as ::ffff:a.b.c.d.
  const v4 = addr.startsWith('::ffff:') && isIPv4(addr.slice(7)) ? addr.slice(7) : undefined;
  return v4 ? list.check(v4, 'ipv4') || list.check(addr, 'ipv6') : list.check(addr, isIPv4(addr) ? 'ipv4' : 'ipv6');
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/;
const POP = /^[A-Za-z0-9._-]{1,8192}$/;
const MAX_CERT_HEADER = 16 * 1024;

/**
 * What an HTTP caller presents: `Authorization: Bearer <token>` (with an optional `Gatehouse-PoP` proof), or a
 * client certificate proven in the TLS handshake (or passed on by a trusted proxy). A bearer token wins over a
 * certificate. No credentials at all is undefined: the route answers 401, it never falls back to host authority.
 *
 * @example
 * const credentials = credentialsFrom(req, credentialOptions(gh.config.identity));
 */
export function credentialsFrom(req: FastifyRequest, opts: CredentialOptions = {}): Credentials | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = BEARER.exec(h.trim());
    if (!m) return undefined;
    const proof = req.headers['gatehouse-pop'];
    return { kind: 'bearer', token: m[1]!, ...(typeof proof === 'string' && POP.test(proof) ? { proof } : {}) };
  }
  const pem = clientCertificate(req, opts);
  return pem ? { kind: 'certificate', pem } : undefined;
}

/** The client certificate (PEM) of the request, if the TLS handshake or a trusted proxy established one. */
export function clientCertificate(req: FastifyRequest, opts: CredentialOptions = {}): string | undefined {
  const socket = req.raw.socket as Partial<TLSSocket>;
  if (socket.encrypted === true && typeof socket.getPeerCertificate === 'function') {
    const peer = socket.getPeerCertificate(false);
    if (peer && Buffer.isBuffer(peer.raw) && peer.raw.length > 0) return derToPem(peer.raw);
  }
  if (opts.clientCertHeader && fromTrustedProxy(req, opts.trustedProxies)) {
    const v = req.headers[opts.clientCertHeader.toLowerCase()];
    if (typeof v === 'string' && v.length > 0 && v.length <= MAX_CERT_HEADER) {
      try {
        return decodeURIComponent(v);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function derToPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}
