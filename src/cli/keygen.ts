import { closeSync, fchownSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { newKeyText } from '../site/key-files.js';
import { CliError, EXIT } from './exit-codes.js';

/**
 * `minder keygen FILE [--owner USER]`: a new site key, mode 0600, owned by the user the daemons
 * run as. Run as root (how a DBA sets a host up), the default owner is `minder`, the User= of
 * every unit: a root:root key would be unreadable by them, and they refuse to start. Any other
 * caller gets a key of their own.
 */

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** The entry of `name` in an /etc/passwd text (systemd-sysusers writes the minder user there). */
export function accountIn(passwd: string, name: string): Account | null {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4 && /^\d+$/.test(f[2] ?? '') && /^\d+$/.test(f[3] ?? '')) return { name, uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

export function keygen(file: string, owner: string | undefined, passwdPath = '/etc/passwd'): string {
  const root = process.getuid?.() === 0;
  const want = owner ?? (root ? 'minder' : undefined);
  let account: Account | null = null;
  if (want !== undefined) {
    let passwd = '';
    try {
      passwd = readFileSync(passwdPath, 'utf8');
    } catch {
      // No passwd file to read: the lookup below fails with the explanation.
    }
    account = accountIn(passwd, want);
    if (!account) {
      throw new CliError(
        EXIT.USAGE,
        `no user ${want} on this host: the daemons run as ${want} and must own the key. Install the galera-minder package (it creates the user), or run systemd-sysusers with systemd/sysusers-minder.conf; --owner root keeps it root's (then no unit can read it)`,
      );
    }
    if (!root && account.uid !== process.getuid?.()) throw new CliError(EXIT.USAGE, `--owner ${want}: only root can give a file to another user`);
  }
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    throw new CliError(EXIT.USAGE, `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (an existing key is never overwritten)`);
  }
  try {
    // Owned before a byte of the secret is in it.
    if (account) fchownSync(fd, account.uid, account.gid);
    writeSync(fd, newKeyText());
    closeSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(file);
    throw new CliError(EXIT.FAILURE, `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; nothing written`);
  }
  return `wrote a new site key to ${file} (mode 0600${account ? `, owner ${account.name}` : ''}); copy it to every party with the same mode and owner (install -o minder -g minder -m 0600)\n`;
}
