import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';

export interface SiteKey {
  readonly id: number;
  readonly secret: Buffer;
}

/**
 * The site keys a party holds. Several may verify at once so that a key can be rotated without
 * a gap (install everywhere, switch the sending key, then remove the old one), as keepalived's
 * auth_hmac does.
 */
export class Keyring {
  private readonly byId = new Map<number, SiteKey>();

  constructor(
    keys: readonly SiteKey[],
    private readonly sendId: number,
  ) {
    for (const k of keys) {
      if (!Number.isInteger(k.id) || k.id < 1 || k.id > 255) throw new KeyError('KEY_ID', `key id ${k.id} is not in 1..255`);
      if (k.secret.length < 32) throw new KeyError('KEY_SHORT', `key id ${k.id} holds ${k.secret.length} bytes; at least 32 are needed`);
      this.byId.set(k.id, k);
    }
    if (!this.byId.has(sendId)) throw new KeyError('KEY_SEND', `sending key id ${sendId} is not among the installed keys`);
  }

  sendingKey(): SiteKey {
    return this.byId.get(this.sendId) as SiteKey;
  }

  verifyingKey(id: number): SiteKey | undefined {
    return this.byId.get(id);
  }

  ids(): number[] {
    return [...this.byId.keys()];
  }
}

export class KeyError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'KeyError';
  }
}

/**
 * Refuses any secret file that group or others could read: a leaked site key lets anyone
 * promote a half of the cluster.
 */
export function assertPrivateFile(path: string, what: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new KeyError('FILE_MISSING', `${what} ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new KeyError('FILE_PERMS', `${what} ${path} is readable by group or others (mode ${octal}); run: chmod 600 ${path}`);
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

/** Writes a new random 32-byte key, readable by its owner only. */
/** 32 random bytes as one hex line: what a key file holds. */
export function newKeyText(): string {
  return `${randomBytes(32).toString('hex')}\n`;
}

export function writeNewKeyFile(path: string): void {
  writeFileSync(path, newKeyText(), { mode: 0o600, flag: 'wx' });
}
