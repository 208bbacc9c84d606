import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Address, Transport } from './transport.js';

export class UdpTransportError extends Error {
  constructor(
    readonly code: 'UDP_BIND' | 'UDP_SEND',
    message: string,
  ) {
    super(message);
    this.name = 'UdpTransportError';
  }
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
    const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(new UdpTransportError('UDP_BIND', `cannot bind UDP ${address}:${port}: ${err.code ?? err.message}`));
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
