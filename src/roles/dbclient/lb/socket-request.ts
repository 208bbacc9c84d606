// One request over one stream connection, with a hard deadline. Both load balancers we drive
// speak line commands over a socket (HAProxy's runtime API on a unix socket, glbd's control
// port on TCP); neither is worth a persistent session: a connection per command means a
// restarted load balancer is picked up by the next call, and no half-read reply can leak into
// the next command.

import { connect, type Socket } from 'node:net';
import { LbError } from './types.js';

export type Endpoint = { path: string } | { host: string; port: number };

export function describeEndpoint(endpoint: Endpoint): string {
  return 'path' in endpoint ? endpoint.path : `${endpoint.host}:${endpoint.port}`;
}

export interface RequestSpec {
  endpoint: Endpoint;
  /** Sent followed by a newline. Must not contain one itself. */
  line: string;
  timeoutMs: number;
  maxReplyBytes: number;
  /** Who we talk to, for error messages: 'HAProxy runtime API', 'glbd control'. */
  peer: string;
  /**
   * Tells when the reply is whole for peers that keep the connection open (glbd). Without it the
   * reply ends when the peer closes the connection (HAProxy's non-interactive mode).
   */
  isComplete?: (replySoFar: string) => boolean;
}

// Errors that mean "nobody is there to answer", as opposed to a peer that answered badly.
const UNREACHABLE_ERRNOS = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT']);

function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}

/**
 * Sends one line and resolves with the whole reply. Always settles within `timeoutMs` (plus one
 * timer tick), and always destroys its socket, whatever happens.
 */
export class SocketRequester {
  private readonly inFlight = new Set<(reason: LbError) => void>();
  private closedReason: string | null = null;

  request(spec: RequestSpec): Promise<string> {
    if (this.closedReason !== null) return Promise.reject(new LbError('LB_UNREACHABLE', this.closedReason));
    if (spec.line.includes('\n') || spec.line.includes('\r')) {
      return Promise.reject(new LbError('LB_PROTOCOL', `refusing to send a multi-line command to ${spec.peer}`));
    }
    return new Promise<string>((resolve, reject) => this.run(spec, resolve, reject));
  }

  /** Ends every request in flight with LB_UNREACHABLE and refuses new ones. */
  close(reason: string): void {
    this.closedReason = reason;
    for (const abort of [...this.inFlight]) {
      abort(new LbError('LB_UNREACHABLE', reason));
    }
  }

  private run(spec: RequestSpec, resolve: (reply: string) => void, reject: (err: LbError) => void): void {
    const where = `${spec.peer} at ${describeEndpoint(spec.endpoint)}`;
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    let settled = false;
    const socket: Socket = connect(spec.endpoint);

    const finish = (err: LbError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.inFlight.delete(abort);
      socket.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const abort = (reason: LbError): void => finish(reason);
    this.inFlight.add(abort);

    // A connect that never completes is as good as an absent peer; a peer that accepted but
    // never answers is a timeout. Callers treat the two differently (retry soon vs alert).
    const timer = setTimeout(() => {
      finish(
        connected
          ? new LbError('LB_TIMEOUT', `${where} did not answer '${spec.line}' within ${spec.timeoutMs} ms`)
          : new LbError('LB_UNREACHABLE', `could not connect to ${where} within ${spec.timeoutMs} ms`),
      );
    }, spec.timeoutMs);

    socket.once('connect', () => {
      connected = true;
      socket.write(`${spec.line}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > spec.maxReplyBytes) {
        finish(new LbError('LB_PROTOCOL', `${where} sent more than ${spec.maxReplyBytes} bytes for '${spec.line}'`));
        return;
      }
      chunks.push(chunk);
      if (spec.isComplete?.(Buffer.concat(chunks).toString('utf8'))) finish(null);
    });
    socket.once('end', () => {
      if (!spec.isComplete) {
        finish(null);
        return;
      }
      finish(new LbError('LB_PROTOCOL', `${where} closed the connection before a whole reply to '${spec.line}'`));
    });
    socket.once('error', (err: Error) => {
      const errno = errnoOf(err);
      const phase = connected ? `lost the connection to ${where} during '${spec.line}'` : `cannot connect to ${where}`;
      const code = UNREACHABLE_ERRNOS.has(errno) ? 'LB_UNREACHABLE' : 'LB_PROTOCOL';
      finish(new LbError(code, `${phase}: ${errno}`, { cause: err }));
    });
    // 'close' without 'end' (e.g. destroyed by the peer after an error we already handled).
    socket.once('close', () => {
      finish(new LbError('LB_UNREACHABLE', `connection to ${where} closed during '${spec.line}'`));
    });
  }
}
