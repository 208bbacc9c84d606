import { readFileSync, statSync } from 'node:fs';
import type { SiteKey } from '../protocol/keys.js';
import { MinderError } from '../errors.js';

/**
 * The hook's settings: a small JSON file, written once by `minder notify-setup` (or by hand).
 * The hook reads it instead of the site config because mariadbd waits for the hook: parsing and
 * validating the whole YAML site config would cost more than everything else the hook does.
 * No secret is in it, only where the key file is.
 *
 *   { "site": "prod", "keyFile": "/etc/minder/hook/site.key", "keyId": 1, "ackWaitMs": 300,
 *     "dbservers": [ { "id": "dbserver:2", "host": "10.0.1.12", "port": 4801, "datadir": "/var/lib/mysql" } ] }
 *
 * mariadbd runs the hook with its datadir as the working directory, which is how one hook file
 * serves a host with several mariadbd (the lab): the entry whose datadir is the cwd is chosen.
 */

export const DEFAULT_HOOK_FILE = '/etc/minder/notify.json';
export const DEFAULT_ACK_WAIT_MS = 300;
export const MAX_ACK_WAIT_MS = 2000;

export interface HookTarget {
  id: string;
  /** The hook sends as wsrep_notify_cmd:<serial>, its dbserver's serial. */
  serial: number;
  host: string;
  port: number;
  datadir: string;
}

export interface HookSettings {
  site: string;
  keyFile: string;
  keyId: number;
  ackWaitMs: number;
  dbservers: HookTarget[];
}

export class HookFileError extends MinderError {
  declare readonly code: 'HOOK_FILE';
  constructor(message: string) {
    super('HOOK_FILE', message);
  }
}

function field<T>(o: Record<string, unknown>, name: string, check: (v: unknown) => v is T, what: string, where: string): T {
  const v = o[name];
  if (!check(v)) throw new HookFileError(`${where}: "${name}" must be ${what}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 255;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function target(raw: unknown, where: string): HookTarget {
  if (!isObject(raw)) throw new HookFileError(`${where}: must be an object`);
  const id = field(raw, 'id', isString, 'a dbserver party such as "dbserver:2"', where);
  const m = /^dbserver:([1-9][0-9]{0,5})$/.exec(id);
  if (!m) throw new HookFileError(`${where}: "id" must be a dbserver party such as "dbserver:2", not ${JSON.stringify(id)}`);
  const host = field(raw, 'host', isString, "the dbserver's address", where);
  const port = field(raw, 'port', isInt, "the dbserver's UDP port", where);
  if (port < 1 || port > 65535) throw new HookFileError(`${where}: "port" ${port} is not a port`);
  const datadir = field(raw, 'datadir', isString, "the datadir of this dbserver's mariadbd", where);
  return { id, serial: Number(m[1]), host, port, datadir };
}

export function parseHookSettings(text: string, path: string): HookSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HookFileError(`${path}: not JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) throw new HookFileError(`${path}: must hold a JSON object`);
  const site = field(raw, 'site', isString, 'the site name', path);
  const keyFile = field(raw, 'keyFile', isString, 'the path of the site key file', path);
  const keyId = field(raw, 'keyId', isInt, 'the key id (1-255)', path);
  if (keyId < 1 || keyId > 255) throw new HookFileError(`${path}: "keyId" ${keyId} is not in 1..255`);
  const ackWaitMs = raw['ackWaitMs'] === undefined ? DEFAULT_ACK_WAIT_MS : field(raw, 'ackWaitMs', isInt, 'milliseconds', path);
  if (ackWaitMs < 0 || ackWaitMs > MAX_ACK_WAIT_MS) throw new HookFileError(`${path}: "ackWaitMs" must be 0..${MAX_ACK_WAIT_MS} (mariadbd waits for the hook)`);
  const list = raw['dbservers'];
  if (!Array.isArray(list) || list.length === 0 || list.length > 64) throw new HookFileError(`${path}: "dbservers" must list 1 to 64 dbservers`);
  const dbservers = list.map((t, i) => target(t, `${path}: dbservers[${i}]`));
  return { site, keyFile, keyId, ackWaitMs, dbservers };
}

/**
 * Which dbserver this run of the hook belongs to: the only one listed, or the one whose datadir
 * is the working directory mariadbd gave the hook. `resolve` turns a path into its real path.
 */
export function pickTarget(s: HookSettings, cwd: string, resolve: (p: string) => string): HookTarget {
  if (s.dbservers.length === 1) return s.dbservers[0] as HookTarget;
  const here = resolve(cwd);
  const hit = s.dbservers.find((d) => {
    try {
      return resolve(d.datadir) === here;
    } catch {
      return false;
    }
  });
  if (!hit) throw new HookFileError(`no dbserver of the hook file has the datadir ${here} (the hook's working directory): listed ${s.dbservers.map((d) => `${d.id} ${d.datadir}`).join(', ')}`);
  return hit;
}

export function readHookSettings(path: string): HookSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HookFileError(`cannot read the hook file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseHookSettings(text, path);
}

/**
 * The hook's copy of the site key. mariadbd runs the hook as its own user (mysql), so the file
 * may be group-readable (root:mysql 0640) — unlike the daemons' key files — but never
 * readable or writable by others, nor writable by the group.
 */
export function readHookKey(path: string, id: number): SiteKey {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new HookFileError(`cannot read the key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if ((mode & 0o027) !== 0) {
    throw new HookFileError(`key file ${path} has mode ${(mode & 0o777).toString(8).padStart(4, '0')}: others may not read it and the group may not write it (chmod 640)`);
  }
  let secret: Buffer;
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) secret = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) secret = Buffer.from(text, 'base64');
  else throw new HookFileError(`key file ${path} must hold one line of hex or base64`);
  if (secret.length < 32) throw new HookFileError(`key file ${path} holds ${secret.length} bytes; at least 32 are needed`);
  return { id, secret };
}
