/** The generic tier: which names mark an assigned value as a credential, and which values look like one. */

import { isPlaceholderPassword } from './placeholders.js';
import { charClassCount, isPlaceholder, shannonEntropy } from './validators.js';

/** Name endings (separators removed, lower case) that mark the value assigned to them as a credential. */
const GENERIC_SUFFIXES = [
  'password',
  'passwd',
  'passphrase',
  'pwd',
  'secret',
  'token',
  'apikey',
  'accesskey',
  'authkey',
  'credential',
  'credentials',
  'creds',
  'privatekey',
  'signingkey',
  'encryptionkey',
  'masterkey',
  'secretkey',
  'sessionkey',
];
/** Names that end like a credential but name something that is not one. */
const GENERIC_DENY = [
  'publickey',
  'primarykey',
  'foreignkey',
  'sortkey',
  'partitionkey',
  'cachekey',
  'mapkey',
  'hotkey',
  'idempotencykey',
  'csrftoken',
  'xsrftoken',
  'publictoken',
  'nexttoken',
  'pagetoken',
  'continuationtoken',
  'canceltoken',
  'cancellationtoken',
  'resumetoken',
  'synctoken',
  'eostoken',
  'bostoken',
  'padtoken',
  'unktoken',
  'septoken',
  'clstoken',
  'masktoken',
  'starttoken',
  'endtoken',
  'nulltoken',
  'eoftoken',
];

/** True for identifiers such as `DB_PASSWORD`, `clientSecret`, `"api-key"`, `APP_KEY`. */
export function isCredentialName(name: string): boolean {
  const raw = name.slice(-40).toLowerCase();
  const norm = raw.replace(/["'_.-]/g, '');
  for (const d of GENERIC_DENY) if (norm.endsWith(d)) return false;
  for (const x of GENERIC_SUFFIXES) if (norm.endsWith(x)) return true;
  return /[_.-](?:key|pass)["']?$/.test(raw);
}

export const GENERIC_KEYWORDS = [
  'pass',
  'pwd',
  'secret',
  'token',
  'api_key',
  'apikey',
  'api-key',
  'access_key',
  'accesskey',
  'auth',
  'credential',
  'creds',
  'private_key',
  'privatekey',
  '_key',
  'secretkey',
];

const PLACEHOLDER_TEXT = /dummy|example|sample|placeholder|lorem|test data|changeme/i;

export function genericValueLooksSecret(name: string, value: string): boolean {
  const v = value.trim();
  if (v.length < 6) return false;
  const isPassword = /pass|pwd/i.test(name);
  // Cheapest rejections first: this runs at every credential-named assignment.
  if (isPassword ? v.length < 8 : v.length < 12) return false;
  if (charClassCount(v) < 2) return false;
  const entropy = shannonEntropy(v);
  // A short value cannot reach 3.5 bits/char (12 distinct characters give 3.58): below 24 characters the floor
  // follows the length, for values that also mix three character classes (`Lj2^5O%xi214`).
  const floor = isPassword ? 2.8 : v.length < 24 && charClassCount(v) >= 3 ? Math.log2(v.length) - 0.4 : 3.5;
  if (entropy < Math.min(3.5, floor)) return false;
  if (/^\d+(?:\.\d+)*$/.test(v)) return false;
  if (/^[a-z]+(?:[-_][a-z]+)*$/.test(v) || /^[A-Z]+(?:_[A-Z]+)*$/.test(v)) return false;
  if (/^(?:true|false|null|none|undefined|nil|yes|no|on|off)$/i.test(v)) return false;
  // References, not values: variables, calls, paths, member access, URLs, file names.
  if (
    /^(?:process\.env|os\.environ|env\.|ENV\[|config\.|settings\.|self\.|this\.|params\.|args\.|req\.|request\.|options\.|props\.)/i.test(
      v,
    )
  )
    return false;
  // Member access (`config.apiToken`): dotted words without the letter-digit mix of random values.
  if (
    /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(v) &&
    !v.split('.').some((p) => /[a-z]/i.test(p) && /\d/.test(p) && p.length >= 12)
  )
    return false;
  if (/^[A-Za-z_$][\w$]*\(|^\/|^\.\.?\/|^~\/|^[a-z]+:\/\/|\.(?:json|ya?ml|pem|key|txt|env|crt|p12|js|ts|py)$/i.test(v))
    return false;
  if (/\s/.test(v) && v.split(/\s+/).length > 2) return false;
  // Truncated examples (`ops_eyJ…`, `abc...`) are documentation, not credentials.
  if (/\.\.\.$|…/.test(v)) return false;
  if (isPlaceholder(v) || isPlaceholderPassword(v)) return false;
  // A base64 value that decodes to placeholder text (`ZHVtbXkgdGV4dA==` is "dummy text").
  if (/^[A-Za-z0-9+/]{8,}={0,2}$/.test(v)) {
    const decoded = Buffer.from(v, 'base64').toString('latin1');
    if (/^[\x20-\x7e]+$/.test(decoded) && PLACEHOLDER_TEXT.test(decoded)) return false;
  }
  return true;
}
