import type { DesiredLb, ObservedServer } from '../../src/roles/dbclient/lb/types.js';

/**
 * A dbclient's load balancer in the simulator: it does exactly what it was last told, backend by
 * backend, and can be made unreachable for a while. Sessions are not modelled (always 0), so a
 * retiring writer hands over at once.
 */
export class SimLoadBalancer {
  private readonly servers = new Map<string, ObservedServer>();
  reachable = true;
  applies = 0;

  apply(desired: DesiredLb): string[] {
    const commands: string[] = [];
    for (const backend of ['write', 'read'] as const) {
      for (const d of desired[backend]) {
        const k = `${backend}/${d.server}`;
        const cur = this.servers.get(k);
        if (cur && cur.state === d.state && cur.weight === d.weight) continue;
        this.servers.set(k, { backend, server: d.server, state: d.state, operational: true, weight: d.weight, sessions: 0 });
        commands.push(`set server ${k} state ${d.state} weight ${d.weight}`);
      }
    }
    this.applies++;
    return commands;
  }

  observe(): ObservedServer[] {
    return [...this.servers.values()].map((s) => ({ ...s }));
  }

  stateOf(backend: 'write' | 'read', server: string): string | undefined {
    return this.servers.get(`${backend}/${server}`)?.state;
  }
}
