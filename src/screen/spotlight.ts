import { randomBytes } from 'node:crypto';

export type SpotlightMode = 'delimit' | 'datamark';

const DATAMARK = '\u02c6';

/**
 * Spotlighting (Hines et al., 2024): wraps untrusted content in markers the content cannot forge,
 * so the model can be told to treat everything between them as data. A random nonce in each marker,
 * and defanging of look-alike markers inside the content, stop a document from closing the block early.
 * `datamark` also joins words with a marker character, which models learn to read as "data".
 * @example
 * spotlight('page text', 'delimit', 'tool:web.fetch');
 * // «untrusted 3f9a… source=tool:web.fetch»\npage text\n«/untrusted 3f9a…»
 */
export function spotlight(
  text: string,
  mode: SpotlightMode,
  source: string,
  nonce = randomBytes(8).toString('hex'),
): string {
  let body = text.replace(/«(\/?)untrusted/gi, '‹$1untrusted');
  if (mode === 'datamark') body = body.replace(/[ \t]+/g, DATAMARK);
  return `«untrusted ${nonce} source=${source}»\n${body}\n«/untrusted ${nonce}»`;
}
