import { randomBytes } from 'node:crypto';
import { base62, crc32 } from '../../src/redact/validators.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random characters from an alphabet: test tokens are generated, never copied from anywhere. */
export function rand(n: number, alphabet = ALNUM): string {
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[bytes[i]! % alphabet.length];
  return s;
}

export const HEXL = '0123456789abcdef';
export const UPPER_B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A GitHub-style token with a correct CRC-32 checksum (`ghp_` + 30 random + 6 checksum). */
export function githubToken(prefix = 'ghp'): string {
  const body = rand(30);
  return `${prefix}_${body}${base62(crc32(body), 6)}`;
}

/** One sample per documented format, built from the format's facts with random bodies. */
export function sampleSecrets(): Record<string, string> {
  return {
    'aws-access-key-id': `AKIA${rand(16, UPPER_B32)}`,
    'github-pat': githubToken('ghp'),
    'github-oauth': githubToken('gho'),
    'github-fine-grained-pat': `github_pat_${rand(82)}`,
    'gitlab-pat': `glpat-${rand(20)}`,
    'npm-access-token': githubToken('npm'),
    'slack-bot-token': `xoxb-${rand(11, '0123456789')}-${rand(12, '0123456789')}-${rand(24)}`,
    'stripe-access-token': `sk_live_${rand(32)}`,
    'anthropic-api-key': `sk-ant-api03-${rand(93)}AA`,
    'openai-api-key': `sk-proj-${rand(74)}T3BlbkFJ${rand(74)}`,
    'gcp-api-key': `AIza${rand(35)}`,
    'huggingface-access-token': `hf_${rand(34, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ')}`,
    'sendgrid-api-token': `SG.${rand(22)}.${rand(43)}`,
    'digitalocean-pat': `dop_v1_${rand(64, HEXL)}`,
    'pypi-upload-token': `pypi-AgEIcHlwaS5vcmc${rand(120)}`,
    'hashicorp-vault-service-token': `hvs.${rand(95)}`,
    'shopify-access-token': `shpat_${rand(32, HEXL)}`,
    'groq-api-key': `gsk_${rand(52)}`,
    'perplexity-api-key': `pplx-${rand(48)}`,
    'age-secret-key': `AGE-SECRET-KEY-1${rand(58, 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L')}`,
    'docker-hub-pat': `dckr_pat_${rand(27)}`,
    'linear-api-key': `lin_api_${rand(40)}`,
    'grafana-service-account-token': `glsa_${rand(32)}_${rand(8, HEXL)}`,
    'databricks-api-token': `dapi${rand(32, HEXL)}`,
    'postman-api-token': `PMAK-${rand(24, HEXL)}-${rand(34, HEXL)}`,
    'sentry-user-token': `sntryu_${rand(64, HEXL)}`,
    'square-access-token': `sq0atp-${rand(22)}`,
    'tailscale-key': `tskey-auth-${rand(12)}-${rand(24)}`,
    'cloudflare-origin-ca-key': `v1.0-${rand(24, HEXL)}-${rand(146, HEXL)}`,
    'dynatrace-api-token': `dt0c01.${rand(24)}.${rand(64)}`,
  };
}
