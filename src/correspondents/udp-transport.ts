import { createSocket, type Socket } from 'node:dgram';
import { type LookupOneOptions, lookup as dnsLookup } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import type { Address, Transport } from './transport.js';
import { MinderError } from '../errors.js';

export class UdpTransportError extends MinderError {
  declare readonly code: 'UDP_BIND' | 'UDP_SEND';
  constructor(code: 'UDP_BIND' | 'UDP_SEND', message: string) {
    super(code, message);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves the destination of every send through dns.lookup and a process.nextTick, even
 * for an address literal; parties are listed by address, so a literal is answered at once (the
 * send then happens inside send()). A host name still goes to dns.lookup.
 */
export function literalFirstLookup(hostname: string, options: LookupOneOptions | number, callback: LookupCallback): void {
  const family = isIP(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  // dgram passes the socket's family as a bare number.
  dnsLookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}

/** The thin dgram file beside the pure protocol: no parsing here. */
export class UdpTransport implements Transport {
  private handler: ((buf: Buffer, from: Address) => void) | null = null;
  sendErrors = 0;

  private constructor(
    private readonly socket: Socket,
    readonly local: Address,
  ) {
    socket.on('message', (msg, rinfo) => this.handler?.(msg, { address: rinfo.address, port: rinfo.port }));
    // A send to an unreachable port can surface as an ICMP error on the socket: never fatal.
    socket.on('error', () => void this.sendErrors++);
  }

  static async bind(address: string, port: number): Promise<UdpTransport> {
    const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', reuseAddr: false, lookup: literalFirstLookup });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => reject(new UdpTransportError('UDP_BIND', `cannot bind UDP ${address}:${port}: ${err.code ?? err.message}`));
      socket.once('error', onError);
      socket.bind(port, address, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    const a = socket.address();
    return new UdpTransport(socket, { address: a.address, port: a.port });
  }

  send(buf: Uint8Array, to: Address): void {
    this.socket.send(buf, to.port, to.address, (err) => {
      if (err) this.sendErrors++;
    });
  }

  onReceive(handler: (buf: Buffer, from: Address) => void): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
