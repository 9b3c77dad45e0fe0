import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { KeyError } from './errors.js';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 1;

/**
 * The master key that seals every private key and credential Gatehouse stores (AES-256-GCM).
 * Taken from GATEHOUSE_MASTER_KEY (64 hex or 44 base64 characters) or from a key file with mode 0600.
 */
export class MasterKey {
  private constructor(private readonly key: Buffer) {}

  static fromEnvOrFile(file: string, env: NodeJS.ProcessEnv = process.env): MasterKey {
    const fromEnv = env.GATEHOUSE_MASTER_KEY;
    if (fromEnv !== undefined && fromEnv !== '') return new MasterKey(decodeKey(fromEnv, 'GATEHOUSE_MASTER_KEY'));
    if (!existsSync(file)) {
      throw new KeyError(
        'key.master_missing',
        `no master key: set GATEHOUSE_MASTER_KEY or run 'gatehouse init' to create ${file}`,
      );
    }
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new KeyError(
        'key.master_permissions',
        `${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`,
      );
    }
    return new MasterKey(decodeKey(readFileSync(file, 'utf8').trim(), file));
  }

  /** Creates a key file with mode 0600 unless one exists; returns the key either way. */
  static ensureFile(file: string, env: NodeJS.ProcessEnv = process.env): MasterKey {
    if (!(env.GATEHOUSE_MASTER_KEY ?? '') && !existsSync(file)) {
      writeFileSync(file, `${randomBytes(KEY_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
    }
    return MasterKey.fromEnvOrFile(file, env);
  }

  static fromBytes(key: Uint8Array): MasterKey {
    if (key.length !== KEY_BYTES) throw new KeyError('key.master_invalid', 'master key must be 32 bytes');
    return new MasterKey(Buffer.from(key));
  }

  /** A value that identifies this key without revealing it (HMAC of a fixed label): compared across gateways. */
  checkValue(): string {
    return createHmac('sha256', this.key).update('gatehouse master key check v1').digest('base64url');
  }

  /** Encrypts `plaintext`; `context` is authenticated too, so a sealed blob cannot be moved to another purpose. */
  seal(plaintext: Uint8Array, context: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  open(sealed: Uint8Array, context: string): Buffer {
    const buf = Buffer.from(sealed);
    if (buf.length < 1 + IV_BYTES + TAG_BYTES || buf[0] !== VERSION) {
      throw new KeyError('key.sealed_invalid', `sealed blob for ${context} is malformed`);
    }
    const iv = buf.subarray(1, 1 + IV_BYTES);
    const tag = buf.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(buf.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (err) {
      throw new KeyError('key.unseal_failed', `cannot unseal ${context}: wrong master key or tampered data`, {
        cause: err,
      });
    }
  }
}

function decodeKey(text: string, where: string): Buffer {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=$/.test(t)) key = Buffer.from(t, 'base64');
  if (!key || key.length !== KEY_BYTES) {
    throw new KeyError('key.master_invalid', `${where}: master key must be 32 bytes as 64 hex or 44 base64 characters`);
  }
  return key;
}
