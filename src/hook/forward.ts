import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { WsrepNotify } from '../protocol/verbs.js';
import { type HookSettings, type HookTarget, readHookKey } from './hook-file.js';
import { decodeWire, encodeWire, type WireKey } from './wire.js';

/**
 * Sends one wsrep_notify to the local dbserver and waits, bounded, for its ack. Kept to
 * node:dgram, node:crypto, node:fs and the hook's own lean datagram code (./wire.js, no
 * msgpackr) so that the hook starts fast: mariadbd blocks on it. Type-only imports only from
 * src/protocol (they vanish from the compiled JS); test/unit/hook-imports.test.ts checks that.
 */

export type ForwardOutcome = { result: 'acked'; ms: number; sends: number } | { result: 'no_ack'; ms: number; sends: number } | { result: 'error'; ms: number; sends: number; error: string };

export interface ForwardOptions {
  settings: HookSettings;
  target: HookTarget;
  body: WsrepNotify;
  /** Injected for tests; the hook uses Date.now. */
  now?: () => number;
  /** Injected for tests (a Keyring does); the hook reads its key file. */
  keyring?: { sendingKey(): WireKey };
}

/** Resends within the wait: loopback hardly loses, but a busy dbserver may miss one datagram. */
const SENDS = 3;

export async function forwardNotify(o: ForwardOptions): Promise<ForwardOutcome> {
  const now = o.now ?? Date.now;
  const t0 = now();
  const s = o.settings;
  const t = o.target;
  let key: WireKey;
  try {
    key = o.keyring?.sendingKey() ?? readHookKey(s.keyFile, s.keyId);
  } catch (err) {
    return { result: 'error', ms: now() - t0, sends: 0, error: (err as Error).message };
  }
  const self = `wsrep_notify_cmd:${t.serial}`;
  // A fresh incarnation per run: the dbserver keeps the highest (incarnation, id) it has applied
  // from this sender, and hooks run one after another, so each run starts above the last.
  const inc = now();
  const v6 = isIPv6(t.host);
  const socket = createSocket(v6 ? 'udp6' : 'udp4');
  let sends = 0;
  try {
    // Bound to loopback: a dbserver accepts hooks only from loopback, and a datagram sent to a
    // local non-loopback address would otherwise leave with that address as its source.
    await bind(socket, v6 ? '::1' : '127.0.0.1');
    const acked = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), s.ackWaitMs);
      socket.on('message', (buf) => {
        try {
          const e = decodeWire(buf, key);
          const a = e.body as { verb?: unknown; inc?: unknown } | null;
          if (e.verb === 'ack' && e.from === t.id && e.to === self && e.site === s.site && a?.verb === 'wsrep_notify' && a.inc === inc) {
            clearTimeout(timer);
            resolve(true);
          }
        } catch {
          // Not for us or not authentic: keep waiting for the real ack.
        }
      });
    });
    const send = () => {
      sends++;
      const buf = encodeWire({ site: s.site, from: self, to: t.id, verb: 'wsrep_notify', inc, id: sends, at: now(), body: o.body }, key);
      socket.send(buf, t.port, t.host, () => {});
    };
    send();
    const gap = Math.max(20, Math.floor(s.ackWaitMs / SENDS));
    const resend = setInterval(() => {
      if (sends < SENDS) send();
    }, gap);
    const ok = await acked;
    clearInterval(resend);
    return { result: ok ? 'acked' : 'no_ack', ms: now() - t0, sends };
  } catch (err) {
    return { result: 'error', ms: now() - t0, sends, error: (err as Error).message };
  } finally {
    socket.close();
  }
}

function bind(socket: Socket, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.off('error', reject);
      // Later errors (an ICMP port unreachable when the dbserver is down) must not throw.
      socket.on('error', () => {});
      resolve();
    });
  });
}
