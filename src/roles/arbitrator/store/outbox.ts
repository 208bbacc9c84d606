/**
 * "Persist, then send" when the persist is a round trip to etcd. The RoleHost carries a step's
 * effects out in order and synchronously; with SQLite that already means a make_primary leaves
 * only after its decision is on disk. An etcd transaction is asynchronous and may FAIL (another
 * arbitrator decided first, the lease is gone, no quorum). So every send queued behind a write
 * waits for that write's result, and if it failed nothing queued behind it is ever sent: the
 * failed term is over (the owner steps down and re-reads the store). A make_primary therefore
 * leaves only after the transaction that recorded its decision has committed.
 *
 * Sends with no write ahead of them go out at once (status pages, acks of reads).
 */
export type WriteFn = () => Promise<void>;

type Item = { kind: 'write'; run: WriteFn; what: string } | { kind: 'send'; run: () => void };

export class OrderedOutbox {
  private readonly queue: Item[] = [];
  private pumping = false;
  private failedWith: Error | null = null;
  private dropped = 0;

  constructor(private readonly onFailure: (err: Error, what: string, dropped: number) => void) {}

  /** True once a write failed: nothing more is carried out until `reset` (a new term). */
  get failed(): boolean {
    return this.failedWith !== null;
  }

  /** Writes and sends still waiting. */
  get waiting(): number {
    return this.queue.length;
  }

  write(what: string, run: WriteFn): void {
    if (this.failedWith) {
      this.dropped++;
      return;
    }
    this.queue.push({ kind: 'write', run, what });
    void this.pump();
  }

  send(run: () => void): void {
    if (this.failedWith) {
      this.dropped++;
      return;
    }
    if (this.queue.length === 0 && !this.pumping) {
      run();
      return;
    }
    this.queue.push({ kind: 'send', run });
  }

  /** A new term: forget the failure (what was queued behind it is gone for good). */
  reset(): void {
    this.failedWith = null;
    this.dropped = 0;
  }

  /** Drops everything still queued (the term ended without a failure: stepping down). */
  clear(): number {
    const n = this.queue.length;
    this.queue.length = 0;
    return n;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
        if (item.kind === 'send') {
          item.run();
          continue;
        }
        try {
          await item.run();
        } catch (err) {
          this.failedWith = err instanceof Error ? err : new Error(String(err));
          this.dropped += this.queue.length;
          this.queue.length = 0;
          this.onFailure(this.failedWith, item.what, this.dropped);
          return;
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}
