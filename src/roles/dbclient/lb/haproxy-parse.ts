// Pure parsing and planning for HAProxy's runtime API (verified against HAProxy 2.6.12).
// No I/O here: the adapter feeds replies in and sends the commands that come out, which keeps
// every decision testable on captured output.

import type { AdminState, DesiredServer } from './types.js';
import { LbError } from './types.js';

/** srv_admin_state bits (include/haproxy/server-t.h, enum srv_admin). */
export const ADMIN_BITS = {
  FMAINT: 0x01, // forced into maintenance (CLI, or 'disabled' in the config)
  IMAINT: 0x02, // inherited from a tracked server
  CMAINT: 0x04, // remembers that 'disabled' came from the config; stays after 'state ready'
  FDRAIN: 0x08, // forced drain (CLI)
  IDRAIN: 0x10, // inherited drain
  RMAINT: 0x20, // DNS resolution failed
  HMAINT: 0x40, // FQDN set from the CLI; not a maintenance state by itself
} as const;

// HAProxy's own SRV_ADMF_MAINT. CMAINT is not in it: verified on 2.6, a 'disabled' server shows
// 5 (FMAINT|CMAINT), and after 'state ready' shows 4 while it takes traffic again.
const MAINT_MASK = ADMIN_BITS.FMAINT | ADMIN_BITS.IMAINT | ADMIN_BITS.RMAINT;
const DRAIN_MASK = ADMIN_BITS.FDRAIN | ADMIN_BITS.IDRAIN;

/** srv_op_state values (enum srv_state). */
export const OP_STATE = { STOPPED: 0, STARTING: 1, RUNNING: 2, STOPPING: 3 } as const;

/** HAProxy refuses weights outside this range ("Absolute weight can only be between 0 and 256"). */
export const MAX_WEIGHT = 256;

// Backend and server names go into command lines: anything but HAProxy's identifier charset
// could smuggle a second command (';') or break the line.
export const HAPROXY_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export interface ServerStateRow {
  backend: string;
  server: string;
  opState: number;
  adminBits: number;
  userWeight: number;
}

export interface StatRow {
  backend: string;
  server: string;
  sessions: number;
  status: string;
}

/** The state the load balancer shows, all sources of maintenance/drain included. */
export function effectiveAdminState(adminBits: number): AdminState {
  if ((adminBits & MAINT_MASK) !== 0) return 'maint';
  if ((adminBits & DRAIN_MASK) !== 0) return 'drain';
  return 'ready';
}

/**
 * The state the runtime API has forced. Only these bits are ours to set, so apply compares
 * against them: an inherited or DNS maintenance cannot be cleared by `set server … state`, and
 * comparing with it would resend the same command on every apply, forever.
 */
export function forcedAdminState(adminBits: number): AdminState {
  if ((adminBits & ADMIN_BITS.FMAINT) !== 0) return 'maint';
  if ((adminBits & ADMIN_BITS.FDRAIN) !== 0) return 'drain';
  return 'ready';
}

/** Running or in slow start: health checks (if any) let traffic through. */
export function isOperational(opState: number): boolean {
  return opState === OP_STATE.RUNNING || opState === OP_STATE.STARTING;
}

export type ReplyKind = 'ok' | 'unknown-target' | 'error';

/**
 * Classifies the reply to a command. HAProxy answers a successful `set …`/`shutdown …` with an
 * empty line, and a failure with one human sentence; the sentences naming a missing
 * backend/server are the ones the adapter reports as LB_UNKNOWN_SERVER.
 */
export function classifyReply(reply: string): ReplyKind {
  const text = reply.trim();
  if (text === '') return 'ok';
  if (/^(No such (server|backend|proxy)|Can't find backend)\.?$/i.test(text)) return 'unknown-target';
  return 'error';
}

function splitLines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\r$/, ''));
}

function protocolError(what: string, detail: string): LbError {
  return new LbError('LB_PROTOCOL', `unexpected ${what} output from HAProxy: ${detail}`);
}

function columnIndex(header: string[], name: string, what: string): number {
  const i = header.indexOf(name);
  if (i < 0) throw protocolError(what, `no '${name}' column`);
  return i;
}

function intField(fields: string[], index: number, what: string, column: string): number {
  const raw = fields[index];
  if (raw === undefined || !/^\d{1,10}$/.test(raw)) {
    throw protocolError(what, `column '${column}' is '${raw ?? '(missing)'}', not a non-negative integer`);
  }
  return Number(raw);
}

function textField(fields: string[], index: number, what: string, column: string): string {
  const raw = fields[index];
  if (raw === undefined || raw === '') throw protocolError(what, `column '${column}' is empty`);
  return raw;
}

/**
 * Parses `show servers state [<backend>]` (format version 1): a version line, a '# ' header
 * naming the columns, one space-separated row per server, a blank line. Columns are found by
 * name so that later HAProxy versions appending columns still parse.
 */
export function parseServersState(reply: string): ServerStateRow[] {
  const what = "'show servers state'";
  const lines = splitLines(reply).filter((l) => l.trim() !== '');
  const [version, headerLine, ...rows] = lines;
  if (version === undefined) throw protocolError(what, 'empty reply');
  if (version.trim() !== '1') throw protocolError(what, `format version line is '${version.slice(0, 80)}', expected '1'`);
  if (headerLine === undefined || !headerLine.startsWith('# ')) throw protocolError(what, 'no column header');
  const header = headerLine.slice(2).trim().split(/\s+/);
  const col = {
    backend: columnIndex(header, 'be_name', what),
    server: columnIndex(header, 'srv_name', what),
    opState: columnIndex(header, 'srv_op_state', what),
    adminBits: columnIndex(header, 'srv_admin_state', what),
    userWeight: columnIndex(header, 'srv_uweight', what),
  };
  return rows.map((row) => {
    const f = row.trim().split(/\s+/);
    return {
      backend: textField(f, col.backend, what, 'be_name'),
      server: textField(f, col.server, what, 'srv_name'),
      opState: intField(f, col.opState, what, 'srv_op_state'),
      adminBits: intField(f, col.adminBits, what, 'srv_admin_state'),
      userWeight: intField(f, col.userWeight, what, 'srv_uweight'),
    };
  });
}

/** Splits one CSV line; HAProxy quotes a field (doubling inner quotes) only when it must. */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      out.push(field);
      field = '';
    } else {
      field += c;
    }
  }
  out.push(field);
  return out;
}

/**
 * Parses `show stat` CSV (whole or filtered with `show stat <backend> 4 -1`) and keeps server
 * rows only: FRONTEND/BACKEND aggregate rows carry no per-server state.
 */
export function parseStatCsv(reply: string): StatRow[] {
  const what = "'show stat'";
  const lines = splitLines(reply).filter((l) => l.trim() !== '');
  const [headerLine, ...rows] = lines;
  if (headerLine === undefined || !headerLine.startsWith('# ')) {
    throw protocolError(what, headerLine === undefined ? 'empty reply' : `first line is '${headerLine.slice(0, 80)}'`);
  }
  const header = splitCsvLine(headerLine.slice(2));
  const col = {
    backend: columnIndex(header, 'pxname', what),
    server: columnIndex(header, 'svname', what),
    sessions: columnIndex(header, 'scur', what),
    status: columnIndex(header, 'status', what),
  };
  const out: StatRow[] = [];
  for (const row of rows) {
    const f = splitCsvLine(row);
    const server = textField(f, col.server, what, 'svname');
    if (server === 'FRONTEND' || server === 'BACKEND') continue;
    out.push({
      backend: textField(f, col.backend, what, 'pxname'),
      server,
      sessions: intField(f, col.sessions, what, 'scur'),
      status: textField(f, col.status, what, 'status'),
    });
  }
  return out;
}

/** What the adapter knows about one server right now, joined from both commands. */
export interface ServerNow {
  adminBits: number;
  opState: number;
  userWeight: number;
  sessions: number;
}

function stateCommand(backend: string, server: string, state: AdminState): string {
  return `set server ${backend}/${server} state ${state}`;
}

function weightCommand(backend: string, server: string, weight: number): string {
  // `set server … weight` is the non-deprecated spelling of `set weight` (same effect in 2.6).
  return `set server ${backend}/${server} weight ${weight}`;
}

/** True when `weight` is one HAProxy accepts as an absolute server weight. */
export function isValidWeight(weight: number): boolean {
  return Number.isInteger(weight) && weight >= 0 && weight <= MAX_WEIGHT;
}

/**
 * The commands that take one server from `now` to `desired`, in the order to send them:
 * - leaving service: state first (stop new connections at once), then weight, then the
 *   session shutdown, so clients that reconnect cannot land on the server being cut;
 * - entering service: weight first, so the server takes traffic at the weight wanted.
 * `shutdownSessions` only acts on a server leaving service: on a ready server it would cut
 * every client on every apply.
 */
export function planServer(backend: string, server: string, now: ServerNow, desired: DesiredServer): string[] {
  const cmds: string[] = [];
  const stateDiffers = forcedAdminState(now.adminBits) !== desired.state;
  const weightDiffers = now.userWeight !== desired.weight;
  if (desired.state === 'ready') {
    if (weightDiffers) cmds.push(weightCommand(backend, server, desired.weight));
    if (stateDiffers) cmds.push(stateCommand(backend, server, desired.state));
    return cmds;
  }
  if (stateDiffers) cmds.push(stateCommand(backend, server, desired.state));
  if (weightDiffers) cmds.push(weightCommand(backend, server, desired.weight));
  if (desired.shutdownSessions && now.sessions > 0) cmds.push(`shutdown sessions server ${backend}/${server}`);
  return cmds;
}
