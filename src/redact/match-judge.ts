/** Whether one regex match of a rule is a finding: allowlist, placeholder test, entropy floor, validator. */

import type { CompiledRule } from './compiled-rule.js';
import { isPlaceholderPassword, isPlaceholderUserinfo, isTokenPlaceholder } from './placeholders.js';
import type { ValidatorName } from './rules/types.js';
import { checksumTokenValid, jwtCheck, shannonEntropy } from './validators.js';

/** A bare value must look random: letters and digits mixed, and at least 3 bits per character (or the rule's floor). */
export function nearValueShape(value: string, floor: number | undefined): boolean {
  if (!/[0-9]/.test(value) || !/[A-Za-z]/.test(value)) return false;
  // Documentation fill-ins: a repeated block (`0123…cdef0123…cdef`) or a counting run.
  if ((value + value).indexOf(value, 1) < value.length) return false;
  if (/0123456789|123456789|abcdefgh/i.test(value)) return false;
  return shannonEntropy(value) >= Math.max(3, floor ?? 0);
}

/** The allowlist, placeholder test, entropy floor and validator of a rule, for one match. */
export function judge(rule: CompiledRule, secret: string, m: RegExpExecArray, text: string): 0 | 1 | 2 {
  for (const a of rule.allow) if (a.test(secret)) return 0;
  const def = rule.def;
  // Binary bodies are not text: the textual placeholder markers (`<…>`, `....`) occur in them by chance.
  if (def.validator !== 'der' && isTokenPlaceholder(secret)) return 0;
  if (def.entropy !== undefined && shannonEntropy(secret) < def.entropy) return 0;
  if (!def.validator) return 1;
  const v = runValidator(def.validator, secret, m, text);
  return v === false ? 0 : v === 'verified' ? 2 : 1;
}

function runValidator(name: ValidatorName, secret: string, m: RegExpExecArray, _text: string): boolean | 'verified' {
  switch (name) {
    case 'github-crc32':
    case 'npm-crc32':
      // A failed checksum still looks exactly like a live token to a reader: redact it, but do not vouch for it.
      return checksumTokenValid(secret) ? 'verified' : true;
    case 'jwt': {
      const v = jwtCheck(secret);
      return v === 'valid' ? 'verified' : v === 'damaged';
    }
    case 'not-localhost': {
      if (isPlaceholderPassword(secret)) return false;
      // `postgres:postgres@`, `mongodb:mongodb@`: the user name repeated as password is a default, not a secret.
      const user = /:\/\/([^:/@\s]*):/.exec(m[0])?.[1] ?? '';
      const scheme = m[0].slice(0, m[0].indexOf(':')).toLowerCase();
      if (secret === user || secret.toLowerCase() === scheme) return false;
      const host = (m[2] ?? '').toLowerCase();
      // A real password to a local database is still a leaked password; only templated hosts mark an example.
      return !/^(?:host|hostname|server|your[-_.]?host|\$\{?\w+\}?)$/.test(host);
    }
    case 'db-password': {
      // `user:password` pairs (curl -u) are judged by their password half.
      const colon = secret.indexOf(':');
      return !isPlaceholderPassword(colon >= 0 ? secret.slice(colon + 1) : secret);
    }
    case 'der':
      // The pattern itself walks the DER structure (tags, version, content-type OID).
      return 'verified';
    case 'discord-snowflake': {
      // The first part is the bot's numeric id in base64: decoding to digits proves the shape.
      const id = Buffer.from(secret.slice(0, secret.indexOf('.')), 'base64url').toString('latin1');
      if (/^\d{17,20}$/.test(id)) return 'verified';
      return shannonEntropy(secret) >= 4;
    }
    case 'url-userinfo': {
      // A literal password in a web or file-transfer URL is sent to that host on every request: even a weak one
      // (`user:pass@`) is a credential. Only templates, fill-ins and a user name repeated as password are not.
      const user = /:\/\/([^:/@\s]*):/.exec(m[0])?.[1] ?? '';
      return secret !== user && !isPlaceholderUserinfo(secret);
    }
    case 'userpass': {
      // `user:password` as curl takes it, quoted in any of the ways shells allow; judged by its password half
      // (or the user half when the password is empty).
      const plain = secret.replace(/["'{}]/g, '');
      const colon = plain.indexOf(':');
      if (colon < 0) return false;
      const pass = plain.slice(colon + 1) || plain.slice(0, colon);
      if (/^\$|\$\{|\$\(/.test(pass)) return false;
      return !isPlaceholderPassword(pass);
    }
    case 'random-token':
      // A token with no checksum: it must look generated (letters and digits mixed, no fill-in pattern).
      return nearValueShape(secret, undefined);
    case 'npm-auth': {
      // `.npmrc` `_auth` is base64 of `user:password`, `_password` base64 of the password: it must decode to text.
      const decoded = Buffer.from(secret, 'base64').toString('latin1');
      if (!/^[\x20-\x7e]{3,}$/.test(decoded)) return false;
      const colon = decoded.indexOf(':');
      const isAuth = /_auth\s*=/.test(m[0]);
      if (isAuth && colon < 1) return false;
      return !isPlaceholderPassword(isAuth ? decoded.slice(colon + 1) : decoded);
    }
    case 'pem-body': {
      const body = secret
        .replace(/-----(?:BEGIN|END)[^-]*-----/g, '')
        .replace(/\\[nr]|[\s"',]/g, '')
        .replace(/^(?:Proc-Type|DEK-Info|Comment):[^\n]*$/gm, '');
      if (/\.{3}|x{4,}|\*{3}|<[a-z]/i.test(body)) return false;
      const b64 = body.replace(/[^A-Za-z0-9+/=]/g, '');
      return b64.length >= 64 && shannonEntropy(b64) >= 4.5;
    }
  }
}
