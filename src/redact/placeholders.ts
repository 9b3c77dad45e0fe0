/** Documentation fill-ins and templates that take the shape of a token or password without being one. */

import { isPlaceholder } from './validators.js';

/** Token bodies that are clearly placeholders: `xxxx`, `****`, `${VAR}`, `<token>`, `…EXAMPLE`, one repeated character. */
export function isTokenPlaceholder(secret: string): boolean {
  if (
    /(?:^|[^a-z])(?:dummy|fake)(?:[^a-z]|$)|x{4,}|X{4,}|\*{3,}|\.{3,}|\$\{|\{\{|<[^>]{0,40}>|EXAMPLE$|_HERE$|your[_-]?/i.test(
      secret,
    )
  ) {
    // `xxxx` inside a long random token can happen by chance; only treat it as a placeholder when it dominates.
    const masked = secret.replace(/[xX*.]{4,}/g, '');
    if (masked.length < secret.length * 0.8 || !/x{4,}/i.test(secret)) return true;
  }
  const body = secret.replace(/^[a-z0-9]{1,12}[_.-]/i, '');
  if (/^(?:fake|dummy|sample|example|placeholder|redacted)/i.test(body)) return true;
  // A body of counting digits (`0123456789012…`) is a fill-in, not a random token.
  if (/^\d{10,}$/.test(body) && [...body].every((c, i) => i === 0 || Number(c) === (Number(body[i - 1]) + 1) % 10))
    return true;
  return body.length >= 8 && /^(.)\1+$/.test(body);
}

const PLACEHOLDER_PASSWORDS =
  /^(?:pass(?:word|wd)?\d*|passw0rd|p@ssw0rd|secret|token|apikey|api_key|key|changeme|changeit|admin|root|test|testing|guest|user|username|demo|sample|example|default|none|null|empty|todo|xxx+|\*+|mypassword|mysecret|yourpassword|letmein|qwerty|12345\d*|pa\$\$word|hunter2)$/i;

/** A password or basic-auth value that is a placeholder or template rather than a credential. */
export function isPlaceholderPassword(value: string): boolean {
  const v = value.replace(/^["']|["']$/g, '');
  if (v.length < 4) return true;
  if (PLACEHOLDER_PASSWORDS.test(v)) return true;
  if (/^[$%{<[]|^\{\{|\}\}$|^\$\(|your[_-]|replace|placeholder|password|changeme|example|<|>|\$\{|^\*+$/i.test(v))
    return true;
  return isPlaceholder(v);
}

/** A URL password that is a template or a documentation fill-in (`${PASS}`, `{{pass}}`, `YOUR_PASSWORD`, `xxxx`). */
export function isPlaceholderUserinfo(value: string): boolean {
  if (value.length < 4) return true;
  if (/^[$%{<[]|\$\{|\$\(|\{\{|[<>]|passw(?:or)?d|changeme|example|placeholder|your[_-]|replace|redacted/i.test(value))
    return true;
  return isPlaceholder(value);
}
