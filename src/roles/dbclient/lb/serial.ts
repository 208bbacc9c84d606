// Runs an adapter's calls one at a time. observe() and apply() must never interleave: a
// half-applied state read back mid-apply would make a concurrent apply resend what the first
// is still sending.

import { LbError } from './types.js';

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly closedMessage: string) {}

  run<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new LbError('LB_UNREACHABLE', this.closedMessage));
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Refuses new work; resolves once the work already queued has settled. */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
  }
}
