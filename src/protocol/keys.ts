import { MinderError } from '../errors.js';

/**
 * Site keys in memory. Reading and writing key files (with their permission checks) is the
 * site's business: src/site/key-files.ts.
 */

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

export class KeyError extends MinderError {
  declare readonly code: 'KEY_FILE_MISSING' | 'KEY_FILE_PERMS' | 'KEY_FORMAT' | 'KEY_SHORT' | 'KEY_ID' | 'KEY_SEND';
  constructor(code: 'KEY_FILE_MISSING' | 'KEY_FILE_PERMS' | 'KEY_FORMAT' | 'KEY_SHORT' | 'KEY_ID' | 'KEY_SEND', message: string) {
    super(code, message);
  }
}
