import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { KeyError, type SiteKey } from '../protocol/keys.js';

/**
 * Refuses any secret file that group or others could read: a leaked site key lets anyone
 * promote a half of the cluster.
 */
export function assertPrivateFile(path: string, what: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new KeyError('KEY_FILE_MISSING', `${what} ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new KeyError('KEY_FILE_PERMS', `${what} ${path} is readable by group or others (mode ${octal}); run: chmod 600 ${path}`);
  }
}

/** A key file holds one line: the secret as hex (64+ digits) or base64 (32+ bytes). */
export function readKeyFile(path: string, id: number): SiteKey {
  assertPrivateFile(path, 'key file');
  const text = readFileSync(path, 'utf8').trim();
  let secret: Buffer;
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) secret = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) secret = Buffer.from(text, 'base64');
  else throw new KeyError('KEY_FORMAT', `key file ${path} must hold one line of hex or base64`);
  if (secret.length < 32) throw new KeyError('KEY_SHORT', `key file ${path} holds ${secret.length} bytes; at least 32 are needed`);
  return { id, secret };
}

/** 32 random bytes as one hex line: what a key file holds. */
export function newKeyText(): string {
  return `${randomBytes(32).toString('hex')}\n`;
}

/** Writes a new random 32-byte key, readable by its owner only. */
export function writeNewKeyFile(path: string): void {
  writeFileSync(path, newKeyText(), { mode: 0o600, flag: 'wx' });
}
