import ipaddr from 'ipaddr.js';
import type { Reason } from '../core/decision.js';
import { matchSegment } from './resources.js';

/**
 * URL and host arguments: scheme allowlist, host allow and deny globs, and denial of loopback, private,
 * link-local, cloud-metadata and other non-public addresses in every spelling. Hosts are normalised with the
 * WHATWG URL parser first, so decimal (`2130706433`), octal (`0177.0.0.1`), hex (`0x7f.1`), short (`127.1`),
 * percent-encoded and full-width forms all become dotted quads; IPv6 forms that embed an IPv4 address
 * (mapped, NAT64, 6to4) are checked as that address; trailing dots are removed.
 *
 * Names are checked as names: a public name that resolves to a private address is the egress proxy's to stop
 * at connection time, where the address is known.
 */
export interface UrlRule {
  schemes: readonly string[];
  hosts?: readonly string[];
  denyHosts?: readonly string[];
  privateNetworks: 'deny' | 'allow';
  /** The argument holds a bare host name, not a URL. */
  hostOnly: boolean;
}

export interface UrlResult {
  ok: boolean;
  reasons: Reason[];
  host?: string;
}

const METADATA_NAMES = new Set([
  'localhost',
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.com',
  'kubernetes.default',
  'kubernetes.default.svc',
]);
const INTERNAL_SUFFIXES = ['.localhost', '.internal', '.local', '.localdomain', '.home.arpa'];

function reason(code: string, message: string, evidence: string): Reason {
  return { code: `args.url.${code}`, message, evidence: evidence.slice(0, 200) };
}

/** Why `host` (a normalised host name or IP literal) is not a public address, or undefined when it is. */
export function nonPublicReason(host: string): string | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (ipaddr.isValid(bare)) {
    let addr = ipaddr.parse(bare.split('%')[0]!);
    if (addr.kind() === 'ipv6') {
      const v6 = addr as ipaddr.IPv6;
      const r6 = v6.range();
      if (v6.isIPv4MappedAddress()) addr = v6.toIPv4Address();
      else if (r6 === 'rfc6052' || r6 === 'rfc6145') addr = ipaddr.IPv4.parse(embeddedV4(v6, 12));
      else if (r6 === '6to4') addr = ipaddr.IPv4.parse(embeddedV4(v6, 2));
      else if (r6 === 'teredo') return 'a Teredo tunnel address';
      else if (r6 !== 'unicast') return `an IPv6 ${r6} address`;
    }
    if (addr.kind() === 'ipv4') {
      const r4 = (addr as ipaddr.IPv4).range();
      if (r4 !== 'unicast') return `an IPv4 ${r4} address`;
    }
    return undefined;
  }
  if (METADATA_NAMES.has(host)) return `the internal name ${host}`;
  if (INTERNAL_SUFFIXES.some((s) => host.endsWith(s))) return `an internal name (${host})`;
  return undefined;
}

function embeddedV4(v6: ipaddr.IPv6, byteOffset: number): string {
  const b = v6.toByteArray();
  return b.slice(byteOffset, byteOffset + 4).join('.');
}

/** Normalises a host: WHATWG parsing (numeric IPv4 forms), lower case, trailing dots removed. */
function normaliseHost(raw: string): string | undefined {
  try {
    const h = new URL(`http://${raw}/`).hostname;
    return h.replace(/\.+$/, '').toLowerCase();
  } catch {
    return undefined;
  }
}

export function checkUrl(value: string, rule: UrlRule, arg: string): UrlResult {
  let host: string | undefined;
  if (rule.hostOnly) {
    if (/[/@\\?#\s]/.test(value))
      return { ok: false, reasons: [reason('invalid', `${arg} is not a bare host name`, value)] };
    host = normaliseHost(value);
    if (host === undefined) return { ok: false, reasons: [reason('invalid', `${arg} is not a valid host`, value)] };
  } else {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return { ok: false, reasons: [reason('invalid', `${arg} is not a valid absolute URL`, value)] };
    }
    const scheme = url.protocol.replace(/:$/, '');
    if (!rule.schemes.includes(scheme)) {
      return {
        ok: false,
        reasons: [reason('scheme', `${arg} uses scheme ${scheme}; allowed: ${rule.schemes.join(', ')}`, value)],
      };
    }
    // user:pass@host spellings are parsed differently by different clients; a confusable authority is denied.
    if (url.username !== '' || url.password !== '' || /^[a-z][a-z0-9+.-]*:\/*[^/?#]*[@\\]/i.test(value)) {
      return {
        ok: false,
        reasons: [reason('userinfo', `${arg} carries credentials or a confusable authority`, url.host)],
      };
    }
    host = url.hostname.replace(/\.+$/, '').toLowerCase();
    if (host === '') return { ok: false, reasons: [reason('invalid', `${arg} has no host`, value)] };
  }
  const reasons: Reason[] = [];
  if (rule.privateNetworks === 'deny') {
    const why = nonPublicReason(host);
    if (why) reasons.push(reason('private_address', `${arg} points at ${why}`, host));
  }
  if (rule.denyHosts?.some((p) => matchSegment(p.toLowerCase(), host!))) {
    reasons.push(reason('host_denied', `${arg} host ${host} is denied`, host));
  }
  if (rule.hosts && !rule.hosts.some((p) => matchSegment(p.toLowerCase(), host!))) {
    reasons.push(reason('host_not_allowed', `${arg} host ${host} is not in the allowed hosts`, host));
  }
  return { ok: reasons.length === 0, reasons, host };
}
