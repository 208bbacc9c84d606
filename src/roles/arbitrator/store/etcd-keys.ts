import { createHash } from 'node:crypto';

/**
 * The key layout of one site in etcd (docs/arbitrator-ha.md):
 *
 *   <prefix>/leader              the leader's name, attached to its lease; its create_revision
 *                                is the leader's fencing token (new for every term)
 *   <prefix>/records/<name>      directives (drains, pause, writer), lastPrimary, nodes
 *   <prefix>/decisions/<id>      one decision record each
 *   <prefix>/slots/<sha256(LastPC key)>
 *                                the decision that spends that last primary component: a new
 *                                decision is written only by a transaction that finds the slot
 *                                absent (create_revision 0) or holding the refused decision it
 *                                replaces, so two leaders can never both decide for one LastPC
 *   <prefix>/journal/<at>-<n>    the operator's log: decisions, refusals, operator actions
 */
export class EtcdKeys {
  constructor(readonly prefix: string) {}

  get leader(): string {
    return `${this.prefix}/leader`;
  }
  get records(): string {
    return `${this.prefix}/records/`;
  }
  record(name: string): string {
    return `${this.prefix}/records/${name}`;
  }
  get decisions(): string {
    return `${this.prefix}/decisions/`;
  }
  decision(id: string): string {
    return `${this.prefix}/decisions/${id}`;
  }
  get slots(): string {
    return `${this.prefix}/slots/`;
  }
  slot(decisionKey: string): string {
    return `${this.prefix}/slots/${slotName(decisionKey)}`;
  }
  get journal(): string {
    return `${this.prefix}/journal/`;
  }
  journalEntry(at: number, n: number): string {
    return `${this.prefix}/journal/${String(at).padStart(15, '0')}-${String(n).padStart(4, '0')}`;
  }
}

export function slotName(decisionKey: string): string {
  return createHash('sha256').update(decisionKey).digest('hex');
}

export function defaultPrefix(site: string): string {
  return `/galera-minder/${site}`;
}
