import type { WsrepNotify } from '../protocol/verbs.js';
import { parseNotifyArgs } from './notify-args.js';

/**
 * The hook's line on the dbserver's unix socket, as systemd/wsrep-notify.sh writes it with
 * printf and socat: the marker, then each of Galera's arguments after a unit separator (0x1f,
 * which no Galera argument holds), then a newline:
 *
 *   gm1 US --status US synced US --uuid US 0576… US --primary US yes … LF
 *
 * No key and no signature: only the minder user and mariadbd's group can connect to the socket
 * (mode 0660), so the filesystem says who wrote it. The dbserver still treats the line as input
 * from outside: bounded, parsed, checked against the wsrep_notify schema, and counted when dropped.
 */

export const HOOK_LINE_MARKER = 'gm1';
export const HOOK_LINE_SEPARATOR = '\x1f';
/** 32 arguments of at most 256 characters, with room to spare; anything longer is dropped. */
export const MAX_HOOK_LINE_BYTES = 16 * 1024;

export type HookLineDrop = 'too_long' | 'no_newline' | 'not_a_hook_line' | 'bad_body' | 'timeout' | 'too_many_connections';

export type HookLineResult = { ok: true; body: WsrepNotify; problems: string[] } | { ok: false; reason: HookLineDrop; detail: string };

/** The line for `argv` (what the shell hook writes; used by tests and benchmarks). */
export function hookLineOf(argv: readonly string[]): string {
  return `${[HOOK_LINE_MARKER, ...argv].join(HOOK_LINE_SEPARATOR)}\n`;
}

/** One line without its newline → the wsrep_notify body it announces, or why it is dropped. */
export function parseHookLine(line: string): HookLineResult {
  const parts = line.split(HOOK_LINE_SEPARATOR);
  if (parts[0] !== HOOK_LINE_MARKER) {
    return { ok: false, reason: 'not_a_hook_line', detail: `does not start with "${HOOK_LINE_MARKER}" and the separator` };
  }
  const argv = parts.slice(1);
  // printf '\037%s' with no argument at all still writes one empty field.
  if (argv.length === 1 && argv[0] === '') argv.length = 0;
  const { body, problems } = parseNotifyArgs(argv);
  if (body.status === '') return { ok: false, reason: 'bad_body', detail: problems.join('; ') || 'no --status' };
  return { ok: true, body, problems };
}
