import { execFileSync } from 'node:child_process';

/**
 * minder(1), generated from the CLI's own `--help` (so the man page says what the binary does):
 *   node dist/scripts/man-page.js /usr/lib/galera-minder/dist/src/minder.js VERSION > minder.1
 * Each command's help becomes a section, verbatim in a no-fill block; roff's specials escaped.
 */

const COMMANDS = ['run', 'command', 'config', 'keygen', 'notify-setup', 'notify'];

function help(minder: string, args: string[]): string {
  // A fixed width, so that the page does not depend on the terminal it was built in.
  return execFileSync(process.execPath, [minder, ...args, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '78' } }).replace(/\s+$/, '');
}

/** Text safe inside .nf: backslashes doubled, a line starting with . or ' protected. */
export function roffVerbatim(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/\\/g, '\\e').replace(/^([.'])/, '\\&$1'))
    .join('\n');
}

export function manPage(minder: string, version: string, date: string): string {
  const top = help(minder, []);
  const out = [
    `.TH MINDER 1 "${date}" "galera-minder ${version}" "galera-minder"`,
    '.SH NAME',
    'minder \\- keep a two-DC MariaDB Galera site serving, safely',
    '.SH SYNOPSIS',
    '.B minder',
    '.I command',
    '[options]',
    '.SH DESCRIPTION',
    '.nf',
    roffVerbatim(top),
    '.fi',
  ];
  for (const c of COMMANDS) out.push(`.SH "MINDER ${c.toUpperCase()}"`, '.nf', roffVerbatim(help(minder, [c])), '.fi');
  out.push(
    '.SH FILES',
    '.TP',
    '.I /etc/minder/',
    'site config, bootstrap file, site key (0600, owner minder); kept on removal, removed on purge',
    '.TP',
    '.I /var/lib/minder/',
    "each party's state file (incarnation, decisions)",
    '.TP',
    '.I /usr/lib/galera-minder/wsrep-notify.sh',
    "the wsrep_notify_cmd hook; writes to the dbserver's socket /run/minder/hook.sock",
    '.SH SEE ALSO',
    '/usr/share/doc/galera-minder/README.md and docs/ beside it; systemctl(1), journalctl(1)',
    '',
  );
  return out.join('\n');
}

const [minder, version] = process.argv.slice(2);
if (minder && version) process.stdout.write(manPage(minder, version, new Date(Number(process.env['SOURCE_DATE_EPOCH'] ?? Date.now() / 1000) * 1000).toISOString().slice(0, 10)));
