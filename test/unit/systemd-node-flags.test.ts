import { describe, expect, it } from 'vitest';
import { unitNodeFlags } from '../support/unit-flags.js';

// The lab and the benchmarks start `minder run` with the flags of the role's unit
// (test/support/minder-site.ts), so what they measure is what a host's unit runs.
describe('the node flags of the systemd units', () => {
  it("are read from each long-lived role's ExecStart, and bound the young generation", () => {
    for (const role of ['arbitrator', 'dbserver', 'dbclient']) expect(unitNodeFlags(role), role).toContain('--max-semi-space-size=1');
  });
});
