// Files of a lab node: the my.cnf we write, and the Galera state files we read back
// (grastate.dat, gvwstate.dat). Pure functions plus small fs reads; no processes here.

import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';

export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';

/** Short EVS timeouts measured in docs/lab.md to detect a cut in ~3.5 s without flapping. */
export const SHORT_EVS: Readonly<Record<string, string>> = {
  'evs.suspect_timeout': 'PT2S',
  'evs.inactive_timeout': 'PT6S',
  'evs.install_timeout': 'PT3S',
  'evs.keepalive_period': 'PT0.5S',
};

export interface MyCnfInput {
  name: string;
  address: string;
  datadir: string;
  socket: string;
  pidFile: string;
  errorLog: string;
  clusterName: string;
  clusterAddress: string;
  providerOptions: ReadonlyMap<string, string>;
  notifyCmd?: string;
  statusFile?: string;
  /** Later entries win; keys compare with '-' and '_' treated alike, as mariadbd does. */
  extra: ReadonlyArray<Readonly<Record<string, string>>>;
}

export const PORTS = { sql: 3306, gcomm: 4567, ist: 4568, sst: 4444 } as const;

function cnfKey(key: string): string {
  return key.trim().replace(/-/g, '_');
}

function baseCnf(input: MyCnfInput): Array<[string, string]> {
  const a = input.address;
  const entries: Array<[string, string]> = [
    ['user', 'mysql'],
    ['datadir', input.datadir],
    ['socket', input.socket],
    ['pid_file', input.pidFile],
    ['log_error', input.errorLog],
    ['bind_address', a],
    ['port', String(PORTS.sql)],
    ['skip_name_resolve', ''],
    ['binlog_format', 'ROW'],
    ['default_storage_engine', 'InnoDB'],
    ['innodb_autoinc_lock_mode', '2'],
    ['innodb_buffer_pool_size', '32M'],
    ['innodb_log_file_size', '16M'],
    // Lab speed only; production wants 1.
    ['innodb_flush_log_at_trx_commit', '2'],
    ['max_connections', '50'],
    ['performance_schema', 'OFF'],
    ['wsrep_on', 'ON'],
    ['wsrep_provider', GALERA_PROVIDER],
    ['wsrep_cluster_name', input.clusterName],
    ['wsrep_cluster_address', input.clusterAddress],
    ['wsrep_node_name', input.name],
    ['wsrep_node_address', a],
    ['wsrep_sst_method', 'rsync'],
    ['wsrep_sst_receive_address', `${a}:${PORTS.sst}`],
    ['wsrep_provider_options', `"${renderProviderOptions(input.providerOptions)}"`],
  ];
  if (input.notifyCmd !== undefined) entries.push(['wsrep_notify_cmd', input.notifyCmd]);
  if (input.statusFile !== undefined) entries.push(['wsrep_status_file', input.statusFile]);
  return entries;
}

/** Renders the [mysqld] section; a value of '' renders a bare flag (e.g. skip_name_resolve). */
export function renderMyCnf(input: MyCnfInput): string {
  const merged = new Map<string, string>();
  for (const [k, v] of baseCnf(input)) merged.set(cnfKey(k), v);
  for (const layer of input.extra) {
    for (const [k, v] of Object.entries(layer)) merged.set(cnfKey(k), v);
  }
  const lines = ['[mysqld]'];
  for (const [k, v] of merged) lines.push(v === '' ? k : `${k}=${v}`);
  return `${lines.join('\n')}\n`;
}

export function renderProviderOptions(options: ReadonlyMap<string, string>): string {
  return [...options].map(([k, v]) => `${k}=${v}`).join(';');
}

/** Parses "a=1;b=2" or a record into ordered entries, so callers may pass either form. */
export function providerOptionEntries(input: string | Readonly<Record<string, string>> | undefined): Array<[string, string]> {
  if (input === undefined) return [];
  if (typeof input !== 'string') return Object.entries(input);
  return input
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part): [string, string] => {
      const eq = part.indexOf('=');
      if (eq < 0) return [part, ''];
      return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    });
}

export interface GraState {
  version: string | undefined;
  uuid: string | undefined;
  seqno: number | undefined;
  safeToBootstrap: boolean | undefined;
  /** Every "key: value" line, verbatim, for fields this type does not name. */
  raw: Record<string, string>;
}

function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][\w]*)\s*:\s*(.*?)\s*$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

function toInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+$/.test(value)) return undefined;
  return Number(value);
}

export function parseGrastate(text: string): GraState {
  const raw = parseKeyValues(text);
  const stb = raw['safe_to_bootstrap'];
  return {
    version: raw['version'],
    uuid: raw['uuid'],
    seqno: toInt(raw['seqno']),
    safeToBootstrap: stb === undefined ? undefined : stb === '1',
    raw,
  };
}

export function readGrastate(path: string): GraState | null {
  if (!existsSync(path)) return null;
  return parseGrastate(readFileSync(path, 'utf8'));
}

/** Sets safe_to_bootstrap: 1 — only ever on explicit request (`force`), as an operator would. */
export function forceSafeToBootstrap(path: string): void {
  const text = readFileSync(path, 'utf8');
  const next = /^safe_to_bootstrap:.*$/m.test(text) ? text.replace(/^safe_to_bootstrap:.*$/m, 'safe_to_bootstrap: 1') : `${text.replace(/\n?$/, '\n')}safe_to_bootstrap: 1\n`;
  writeFileSync(path, next);
}

export interface GvwMember {
  uuid: string;
  segment: number | undefined;
}

export interface GvwState {
  myUuid: string | undefined;
  /** view_id as written: "<type> <uuid> <seq>" (type 3 = primary view). */
  viewId: string | undefined;
  viewType: number | undefined;
  viewUuid: string | undefined;
  viewSeq: number | undefined;
  bootstrap: boolean | undefined;
  members: GvwMember[];
  text: string;
}

export function parseGvwstate(text: string): GvwState {
  const raw = parseKeyValues(text);
  const viewId = raw['view_id'];
  const [type, vuuid, seq] = (viewId ?? '').split(/\s+/);
  const members: GvwMember[] = [];
  for (const m of text.matchAll(/^member:\s*(\S+)\s*(\S*)\s*$/gm)) {
    if (m[1] !== undefined) members.push({ uuid: m[1], segment: toInt(m[2]) });
  }
  const bootstrap = raw['bootstrap'];
  return {
    myUuid: raw['my_uuid'],
    viewId,
    viewType: toInt(type),
    viewUuid: vuuid === '' ? undefined : vuuid,
    viewSeq: toInt(seq),
    bootstrap: bootstrap === undefined ? undefined : bootstrap === '1',
    members,
    text,
  };
}

export function readGvwstate(path: string): GvwState | null {
  if (!existsSync(path)) return null;
  return parseGvwstate(readFileSync(path, 'utf8'));
}

/** Last `lines` lines of a (possibly large, possibly missing) log, for error messages. */
export function tailFile(path: string, lines = 25): string {
  if (!existsSync(path)) return `(no ${path})`;
  // Only the end matters, and an error log can grow large during a long test.
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}
