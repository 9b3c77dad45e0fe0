import type { FoundUrl } from '../core/urls.js';
import { shannonEntropy } from './validators.js';

export type UrlIssueKind = 'exfil_image' | 'exfil_url' | 'exfil_dns' | 'exfil_host';

export interface UrlIssue {
  kind: UrlIssueKind;
  start: number;
  end: number;
  reason: string;
}

/** Interaction-capture, request-bin and tunnel services: a destination for exfiltration, never for a real link. */
const CAPTURE_HOSTS =
  /(?:^|\.)(?:webhook\.site|requestbin\.(?:com|net)|pipedream\.net|oast\.(?:fun|pro|live|site|online|me)|interact\.sh|interactsh\.com|burpcollaborator\.net|oastify\.com|canarytokens\.(?:com|org)|ngrok\.io|ngrok-free\.app|ngrok\.app|trycloudflare\.com|beeceptor\.com|hookbin\.com|requestcatcher\.com|dnslog\.cn|ceye\.io)$/i;
const DNS_CMD =
  /\b(?:nslookup|dig|host|drill|ping|ping6|getent\s+hosts|resolvectl\s+query|curl|wget)\s+(?:-{1,2}[\w-]+(?:[= ]\S+)?\s+){0,4}["']?((?:[A-Za-z0-9-]{1,63}\.){2,10}[A-Za-z]{2,24})\b/g;

const normalizedAllow = new WeakMap<readonly string[], string[]>();

export function hostAllowed(host: string, allow: readonly string[]): boolean {
  if (allow.length === 0) return false;
  let domains = normalizedAllow.get(allow);
  if (!domains) {
    domains = allow.map((a) => a.toLowerCase().replace(/^\*\./, ''));
    normalizedAllow.set(allow, domains);
  }
  const h = host.endsWith('.') ? host.slice(0, -1).toLowerCase() : host.toLowerCase();
  for (const d of domains) {
    if (h === d || (h.endsWith(d) && h.charCodeAt(h.length - d.length - 1) === 46)) return true;
  }
  return false;
}

const LOOKUP_NAMES = ['nslookup', 'dig ', 'host ', 'drill ', 'ping', 'getent ', 'resolvectl ', 'curl ', 'wget '];

/** True when text may contain a host-name lookup command (a cheap gate before the regex). */
export function mayHaveLookup(text: string, withFetchers = true): boolean {
  for (const n of LOOKUP_NAMES) {
    if (!withFetchers && (n === 'curl ' || n === 'wget ')) continue;
    if (text.includes(n)) return true;
  }
  return false;
}

export function isCaptureHost(host: string): boolean {
  return CAPTURE_HOSTS.test(host);
}

/**
 * True for a value that looks like encoded or random data rather than words or ids a human wrote. Path segments
 * need more evidence than query values: documents and objects are routinely named by long random ids.
 */
export function looksLikePayload(value: string, where: 'query' | 'path' = 'query'): boolean {
  if (value.length < 24) return false;
  if (/\$\(|`/.test(value)) return true;
  const compact = value.replace(/%3D/gi, '=').replace(/%2B/gi, '+').replace(/%2F/gi, '/');
  if (!/^[A-Za-z0-9+/_-]{24,}={0,2}$/.test(compact)) return false;
  // Slugs: words and ids joined by dashes (`my-page-title-1bc826ecc0994dd8`).
  const parts = compact.split(/[-_]/);
  if (parts.length >= 3 && parts.every((p) => /^[A-Za-z]*$/.test(p) || /^[0-9a-f]+$/.test(p))) return false;
  const decoded = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
  const printable = decoded.length >= 12 && /^[\x20-\x7e\t\r\n]+$/.test(decoded);
  if (printable) return true;
  if (where === 'path' && compact.length < 64) return false;
  // Long hex ids (commit SHAs, digests) are ordinary; only mixed-case base64-shaped data counts.
  if (/^[0-9a-f]+$/i.test(compact)) return compact.length >= 48 && shannonEntropy(compact) >= 3.5;
  return shannonEntropy(compact) >= 4.0 && /[A-Z]/.test(compact) && /[a-z]/.test(compact) && /\d/.test(compact);
}

/** Long hex/base32/base64url labels are how data is smuggled out through DNS lookups. */
export function dnsExfilLabel(host: string): boolean {
  if (host.length < 30) return false;
  for (const label of host.split('.')) {
    if (label.length < 30) continue;
    if (/^[0-9a-f]+$/i.test(label)) return true;
    if (/^[a-z2-7]+$/i.test(label) && shannonEntropy(label.toLowerCase()) >= 3.5) return true;
    if (/^[A-Za-z0-9_-]+$/.test(label) && shannonEntropy(label) >= 4.0) return true;
  }
  return false;
}

/** Why the path/query/fragment of a URL carries data out, or null. */
function dataIssue(data: string): string | null {
  if (/\$\(|`|\$\{[^}]*\}/.test(data)) return 'shell substitution inside a URL';
  const q = data.search(/[?#]/);
  const parts = [
    ...(q < 0 ? data : data.slice(0, q)).split('/').map((p) => ({ p, where: 'path' as const })),
    ...(q < 0 ? [] : data.slice(q + 1).split(/[&=;#]/)).map((p) => ({ p, where: 'query' as const })),
  ];
  for (const { p: part, where } of parts) {
    if (part.length < 24) continue;
    let value = part;
    try {
      value = decodeURIComponent(part);
    } catch {
      // Keep the raw part: malformed escapes are themselves suspicious but not proof.
    }
    if (looksLikePayload(value, where)) return 'URL carries an encoded or high-entropy value';
  }
  return null;
}

/**
 * URL-level exfiltration checks that need no other findings: auto-loading content from hosts not on the
 * allowlist, capture hosts, payload-shaped query or path values, shell substitutions in URLs and DNS-shaped
 * exfiltration in host names (also bare host names given to lookup commands).
 */
export function checkUrls(
  text: string,
  urls: readonly FoundUrl[],
  allow: readonly string[],
  lookup = mayHaveLookup(text),
): UrlIssue[] {
  const issues: UrlIssue[] = [];
  /** Verdicts on data parts already judged in this text (a page repeats its links). */
  const verdicts = new Map<string, string | null>();
  for (const u of urls) {
    const allowed = hostAllowed(u.host, allow);
    if (dnsExfilLabel(u.host)) {
      issues.push({ kind: 'exfil_dns', start: u.start, end: u.end, reason: 'host name carries a long encoded label' });
      continue;
    }
    if (allowed) continue;
    if (u.autoLoad) {
      issues.push({
        kind: 'exfil_image',
        start: u.start,
        end: u.end,
        reason: 'auto-loading URL to a host not on the allowlist',
      });
      continue;
    }
    if (isCaptureHost(u.host)) {
      issues.push({ kind: 'exfil_host', start: u.start, end: u.end, reason: 'request-capture or tunnel host' });
      continue;
    }
    const data = text.slice(u.dataStart, u.end);
    // Nothing shorter than the shortest payload can carry one, unless it runs a command substitution.
    if (data.length < 24 && !/[$`]/.test(data)) continue;
    let reason = verdicts.get(data);
    if (reason === undefined) {
      reason = dataIssue(data);
      verdicts.set(data, reason);
    }
    if (reason) issues.push({ kind: 'exfil_url', start: u.start, end: u.end, reason });
  }
  if (lookup) {
    for (const m of text.matchAll(DNS_CMD)) {
      const host = m[1]!;
      if (dnsExfilLabel(host)) {
        const start = m.index + m[0].lastIndexOf(host);
        issues.push({
          kind: 'exfil_dns',
          start,
          end: start + host.length,
          reason: 'lookup of a host name with a long encoded label',
        });
      }
    }
  }
  return issues;
}
