// Pure parsing and planning for glbd's control socket (codership/glb, README "RUNTIME
// MANAGEMENT" and src/glb_control.c). The protocol, as documented and as the source does it:
//   - `<IP>:<PORT>[:<WEIGHT>]` adds a destination or sets its weight; weight 0 drains it (no new
//     connections, existing ones stay); a negative weight removes it and closes its connections.
//     glbd answers `Ok` (`OK` in old releases) or `Error`, one line.
//   - `getinfo` answers the router table, ending with a `Destinations: N, total connections: …`
//     line; `getstat` answers one line of traffic counters.
//   - glbd treats each read() as one request and keeps the connection open, so a client must
//     send one command and wait for its whole reply before the next.
// No I/O here.

import type { AdminState, DesiredServer } from './types.js';
import { LbError } from './types.js';

export interface GlbDestination {
  /** Normalised 'a.b.c.d:port', as glbd prints it. */
  address: string;
  weight: number;
  conns: number;
}

export interface GlbRouterInfo {
  destinations: GlbDestination[];
  totalConnections: number;
  /** Present in glb ≥ 1.0 ("… of N max"). */
  maxConnections: number | null;
}

/** glbd parses weights with strtoul/strtod; integers read the same in every release. */
export const GLB_MAX_WEIGHT = 1_000_000;

const IPV4_PORT = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/;

/**
 * Validates and normalises 'IP:PORT' the way glbd prints it back ("%hhu.%hhu.%hhu.%hhu:%hu"),
 * so a configured '127.000.0.1:03306' still matches the table. glbd's sockaddr is IPv4 only.
 */
export function normaliseAddress(address: string): string | null {
  const m = IPV4_PORT.exec(address.trim());
  if (!m) return null;
  const octets = m.slice(1, 5).map(Number);
  const port = Number(m[5]);
  if (octets.some((o) => o > 255) || port < 1 || port > 65535) return null;
  return `${octets.join('.')}:${port}`;
}

function protocolError(detail: string): LbError {
  return new LbError('LB_PROTOCOL', `unexpected 'getinfo' output from glbd: ${detail}`);
}

// "%s : %8.3f %7.3f %7.3f %5d" (map used), "%s : %8.3f %7.3f    N/A  %5d" (map unused),
// or the pre-1.0 "%s : %8.3f %7.3f %5ld" (no map column). Address is padded to 21 columns.
const ROW = /^\s*(\S+)\s+:\s+(\S+)\s+(\S+)\s+(?:(\S+)\s+)?(\d+)\s*$/;
const FOOTER = /^Destinations: (\d+), total connections: (\d+)(?: of (\d+) max)?\s*$/;
const NUMBERISH = /^-?(?:\d+(?:\.\d+)?|nan|inf)$/i;

/** True once a `getinfo` reply is whole: its last line, the footer, has arrived. */
export function isInfoComplete(replySoFar: string): boolean {
  return /(?:^|\n)Destinations: [^\n]*\n/.test(replySoFar);
}

/** True once a one-line reply (`Ok`/`Error`, `getstat`) has arrived. */
export function isLineComplete(replySoFar: string): boolean {
  return replySoFar.includes('\n');
}

function parseRow(line: string): GlbDestination {
  const m = ROW.exec(line);
  if (!m) throw protocolError(`row '${line.slice(0, 80)}' is not 'address : weight usage [map] conns'`);
  const [, rawAddress = '', rawWeight = '', usage = '', map, rawConns = ''] = m;
  const address = normaliseAddress(rawAddress);
  if (address === null) throw protocolError(`'${rawAddress}' is not an IPv4 address:port`);
  const weight = Number(rawWeight);
  if (!/^\d+(?:\.\d+)?$/.test(rawWeight) || !Number.isFinite(weight)) throw protocolError(`weight '${rawWeight}' of ${address}`);
  // usage is 0/0 = nan for a drained destination; map is N/A unless a map-based policy runs.
  if (!NUMBERISH.test(usage)) throw protocolError(`usage '${usage}' of ${address}`);
  if (map !== undefined && map !== 'N/A' && !NUMBERISH.test(map)) throw protocolError(`map '${map}' of ${address}`);
  return { address, weight, conns: Number(rawConns) };
}

/** Parses a whole `getinfo` reply; validates the footer's count against the rows. */
export function parseRouterInfo(reply: string): GlbRouterInfo {
  const lines = reply.split('\n').map((l) => l.replace(/\r$/, ''));
  const start = lines.findIndex((l) => l.trim() === 'Router:');
  if (start < 0) throw protocolError(reply.trim() === '' ? 'empty reply' : `no 'Router:' line in '${reply.slice(0, 80)}'`);
  const destinations: GlbDestination[] = [];
  for (const line of lines.slice(start + 1)) {
    const trimmed = line.trim();
    if (trimmed === '' || /^-+$/.test(trimmed) || /^Address\s+:/.test(trimmed)) continue;
    const footer = FOOTER.exec(trimmed);
    if (footer) {
      const count = Number(footer[1]);
      if (count !== destinations.length) throw protocolError(`footer says ${count} destinations, table has ${destinations.length}`);
      return {
        destinations,
        totalConnections: Number(footer[2]),
        maxConnections: footer[3] === undefined ? null : Number(footer[3]),
      };
    }
    destinations.push(parseRow(line));
  }
  throw protocolError("no 'Destinations:' footer (reply cut short?)");
}

export type GlbReply = 'ok' | 'error';

/** Classifies the answer to a destination command; anything but Ok/Error is a protocol error. */
export function parseChangeReply(reply: string): GlbReply {
  const first = reply.split('\n')[0]?.trim() ?? '';
  if (/^ok$/i.test(first)) return 'ok';
  if (/^error$/i.test(first)) return 'error';
  throw new LbError('LB_PROTOCOL', `glbd answered '${first.slice(0, 80)}' where Ok or Error was expected`);
}

export function destinationCommand(address: string, weight: number): string {
  return `${address}:${weight}`;
}

export function isValidGlbWeight(weight: number): boolean {
  return Number.isInteger(weight) && weight >= 0 && weight <= GLB_MAX_WEIGHT;
}

/**
 * Where glbd's table should end up for one server:
 * - ready → present at the desired weight;
 * - drain → present at weight 0 (glbd's drain: no new connections, existing ones stay);
 * - maint → absent when sessions must go (removal is glbd's only way to cut them), otherwise
 *   weight 0: glbd has no "maintenance that keeps sessions" distinct from drain.
 */
export type GlbTarget = { present: false } | { present: true; weight: number };

export function glbTarget(want: DesiredServer): GlbTarget {
  if (want.state === 'ready') return { present: true, weight: want.weight };
  if (want.state === 'maint' && want.shutdownSessions) return { present: false };
  return { present: true, weight: 0 };
}

/** How observe() reads a table entry back into an admin state. */
export function glbAdminState(entry: GlbDestination | undefined): AdminState {
  if (entry === undefined) return 'maint';
  return entry.weight > 0 ? 'ready' : 'drain';
}

/**
 * Commands taking one destination from `current` to what `want` asks. A drain or maint with
 * `shutdownSessions` on a destination that still has connections removes it first (closing
 * them) and, for drain, adds it back at weight 0. Sends nothing when the table already agrees,
 * so a second apply is silent.
 */
export function planDestination(address: string, current: GlbDestination | undefined, want: DesiredServer): string[] {
  const cmds: string[] = [];
  let now = current;
  if (want.shutdownSessions && want.state !== 'ready' && now !== undefined && now.conns > 0) {
    cmds.push(destinationCommand(address, -1));
    now = undefined;
  }
  const target = glbTarget(want);
  if (!target.present) {
    if (now !== undefined) cmds.push(destinationCommand(address, -1));
    return cmds;
  }
  // The table prints weights with 3 decimals; ours are integers, so this is exact equality.
  if (now === undefined || Math.abs(now.weight - target.weight) >= 0.0005) {
    cmds.push(destinationCommand(address, target.weight));
  }
  return cmds;
}
