import { describe, expect, it } from 'vitest';
import {
  aadhaarValid,
  base62,
  cardBrand,
  checksumTokenValid,
  codiceFiscaleValid,
  crc32,
  dniNieValid,
  ibanValid,
  isPlaceholder,
  jwtHeaderValid,
  luhnValid,
  nhsValid,
  peselValid,
  shannonEntropy,
  ssnValid,
  verhoeffValid,
} from '../../src/redact/validators.js';
import { githubToken, rand } from './fixtures.js';

/** Appends the Verhoeff check digit (the inverse of verhoeffValid), to build valid test numbers. */
function withVerhoeff(digits: string): string {
  for (let d = 0; d <= 9; d++) if (verhoeffValid(digits + d)) return digits + d;
  throw new Error('no check digit');
}

describe('validators', () => {
  it('CRC-32 matches the IEEE reference value and base62 pads to width', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(base62(0, 6)).toBe('000000');
    expect(base62(61, 2)).toBe('0z');
  });

  it('GitHub/npm checksums: generated tokens verify, any single-character change does not', () => {
    for (const p of ['ghp', 'gho', 'ghu', 'ghs', 'ghr', 'npm']) {
      const t = githubToken(p);
      expect(checksumTokenValid(t)).toBe(true);
      const i = 4 + Math.floor(Math.random() * 30);
      const flipped = t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
      expect(checksumTokenValid(flipped)).toBe(false);
    }
    expect(checksumTokenValid(`ghp_${rand(36)}`)).toBe(false);
  });

  it('Luhn and IIN ranges', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(cardBrand('4111111111111111')).toBe('visa');
    expect(cardBrand('5555555555554444')).toBe('mastercard');
    expect(cardBrand('378282246310005')).toBe('amex');
    expect(cardBrand('9111111111111111')).toBeUndefined();
  });

  it('IBAN: mod-97 and the country length both apply', () => {
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
    expect(ibanValid('GB82WEST1234569876543')).toBe(false);
    expect(ibanValid('QQ82WEST12345698765432')).toBe(false);
  });

  it('US SSN area, group and serial rules', () => {
    expect(ssnValid('123', '45', '6788')).toBe(true);
    expect(ssnValid('000', '45', '6788')).toBe(false);
    expect(ssnValid('666', '45', '6788')).toBe(false);
    expect(ssnValid('901', '45', '6788')).toBe(false);
    expect(ssnValid('123', '00', '6788')).toBe(false);
    expect(ssnValid('123', '45', '0000')).toBe(false);
  });

  it('national ids with check digits', () => {
    expect(nhsValid('9434765919')).toBe(true);
    expect(nhsValid('9434765918')).toBe(false);
    expect(dniNieValid('12345678Z')).toBe(true);
    expect(dniNieValid('12345678A')).toBe(false);
    expect(dniNieValid('X1234567L')).toBe(true);
    expect(codiceFiscaleValid('RSSMRA85T10A562S')).toBe(true);
    expect(codiceFiscaleValid('RSSMRA85T10A562T')).toBe(false);
    expect(peselValid('44051401359')).toBe(true);
    expect(peselValid('44051401358')).toBe(false);
    const aadhaar = withVerhoeff('23456789012');
    expect(aadhaarValid(aadhaar)).toBe(true);
    expect(aadhaarValid(aadhaar.slice(0, 11) + ((Number(aadhaar[11]) + 1) % 10))).toBe(false);
    expect(aadhaarValid(withVerhoeff('12345678901'))).toBe(false);
  });

  it('JWT header must decode to JSON with alg', () => {
    const header = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    const body = Buffer.from('{"sub":"1"}').toString('base64url');
    expect(jwtHeaderValid(`${header}.${body}.${rand(20)}`)).toBe(true);
    const noAlg = Buffer.from('{"typ":"JWT","x":"yyyyyy"}').toString('base64url');
    expect(jwtHeaderValid(`${noAlg}.${body}.${rand(20)}`)).toBe(false);
    expect(jwtHeaderValid(`eyJhbGciOieeeiIsInR5cCI6.${body}.sig`)).toBe(false);
  });

  it('placeholders and entropy', () => {
    for (const p of [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal placeholder under test
      '${API_KEY}',
      '{{ token }}',
      '<token>',
      '%TOKEN%',
      'xxxxxxxx',
      'your_api_key',
      'changeme',
      'abcdefghijklmnop',
    ])
      expect(isPlaceholder(p), p).toBe(true);
    expect(isPlaceholder(rand(24))).toBe(false);
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
  });
});
