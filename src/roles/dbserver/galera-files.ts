import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PrimaryView, RecoveredPosition } from '../../protocol/verbs.js';
import { MinderError } from '../../errors.js';

/**
 * Galera's own small state files in the datadir, the only source of truth while mariadbd is
 * down. Parsers are pure; the two readers are the only I/O here.
 *
 * grastate.dat (always present once the node has joined once):
 *   version: 2.1 / uuid: <cluster state uuid> / seqno: <n or -1> / safe_to_bootstrap: <0|1>
 * gvwstate.dat (present while the node has a primary view to remember; deleted on a clean stop):
 *   my_uuid: <node uuid> / #vwbeg / view_id: 3 <view uuid> <seq> / bootstrap: 0 /
 *   member: <node uuid> <segment> (one per member) / #vwend
 */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_FILE_BYTES = 64 * 1024;

export class GaleraFileError extends MinderError {
  declare readonly code: 'GALERA_FILE_MISSING' | 'GALERA_FILE_UNREADABLE' | 'GALERA_FILE_MALFORMED';
  constructor(code: 'GALERA_FILE_MISSING' | 'GALERA_FILE_UNREADABLE' | 'GALERA_FILE_MALFORMED', message: string) {
    super(code, message);
  }
}

function keyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_]+)\s*:\s*(.*?)\s*$/.exec(line);
    // The first occurrence wins: `member:` repeats and is read separately.
    if (m?.[1] !== undefined && m[2] !== undefined && !out.has(m[1])) out.set(m[1], m[2]);
  }
  return out;
}

export function parseGrastate(text: string): RecoveredPosition {
  const kv = keyValues(text);
  const uuid = kv.get('uuid');
  const seqno = kv.get('seqno');
  if (uuid === undefined || !UUID_RE.test(uuid)) throw new GaleraFileError('GALERA_FILE_MALFORMED', `grastate.dat: no valid uuid line`);
  if (seqno === undefined || !/^-?\d{1,18}$/.test(seqno) || Number(seqno) < -1) {
    throw new GaleraFileError('GALERA_FILE_MALFORMED', 'grastate.dat: no valid seqno line');
  }
  // Files written before Galera 3.19 have no safe_to_bootstrap line: then nothing says it is safe.
  return { uuid, seqno: Number(seqno), safeToBootstrap: kv.get('safe_to_bootstrap') === '1' };
}

/** null when the text holds no view (Galera writes the file whole, but a reader may still race it). */
export function parseGvwstate(text: string): PrimaryView | null {
  const kv = keyValues(text);
  const viewId = kv.get('view_id');
  if (viewId === undefined || !text.includes('#vwend')) return null;
  const fields = viewId.split(/\s+/);
  if (fields.length !== 3 || !UUID_RE.test(fields[1] ?? '') || !/^\d+$/.test(fields[2] ?? '')) {
    throw new GaleraFileError('GALERA_FILE_MALFORMED', `gvwstate.dat: view_id "${viewId.slice(0, 80)}" is not "<type> <uuid> <seq>"`);
  }
  const members: string[] = [];
  for (const m of text.matchAll(/^\s*member:\s*(\S+)/gm)) {
    const uuid = m[1] as string;
    if (!UUID_RE.test(uuid)) throw new GaleraFileError('GALERA_FILE_MALFORMED', `gvwstate.dat: member "${uuid.slice(0, 80)}" is not a uuid`);
    members.push(uuid);
  }
  if (members.length === 0 || members.length > 64) return null;
  return { viewId: fields.join(' '), members: members.sort() };
}

/** gvwstate.dat's `my_uuid`: this node's uuid in its last primary view (pc.recovery rejoins with it). */
export function parseGvwstateOwner(text: string): string | null {
  const uuid = keyValues(text).get('my_uuid');
  return uuid !== undefined && UUID_RE.test(uuid) ? uuid : null;
}

/**
 * safe_to_bootstrap set to 1 in grastate.dat's text, every other line as it was (a file from
 * before Galera 3.19 without the line gets one). Pure; the writer is in mariadb-control.ts.
 */
export function withSafeToBootstrap(text: string): string {
  if (/^\s*safe_to_bootstrap\s*:/m.test(text)) return text.replace(/^(\s*safe_to_bootstrap\s*:\s*)\S*/m, (_all, head: string) => `${head}1`);
  return `${text.replace(/\n*$/, '\n')}safe_to_bootstrap: 1\n`;
}

export function readSmall(path: string): string | null {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new GaleraFileError('GALERA_FILE_UNREADABLE', `${path}: ${code ?? (err as Error).message}`);
  }
  if (buf.length > MAX_FILE_BYTES) throw new GaleraFileError('GALERA_FILE_MALFORMED', `${path}: ${buf.length} bytes is too large for a Galera state file`);
  return buf.toString('utf8');
}

export function readGrastate(datadir: string): RecoveredPosition {
  const path = join(datadir, 'grastate.dat');
  const text = readSmall(path);
  if (text === null) throw new GaleraFileError('GALERA_FILE_MISSING', `${path} does not exist (the node never joined a cluster)`);
  return parseGrastate(text);
}

/** The node's last primary view, or null when Galera keeps none (never primary, or stopped cleanly). */
export function readGvwstate(datadir: string): PrimaryView | null {
  const text = readSmall(join(datadir, 'gvwstate.dat'));
  return text === null ? null : parseGvwstate(text);
}
