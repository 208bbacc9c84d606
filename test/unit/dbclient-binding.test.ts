import { describe, expect, it } from 'vitest';
import { loadDbclientPersisted } from '../../src/roles/dbclient/binding.js';
import { PERSIST_DIRECTIVES, PERSIST_WRITER } from '../../src/roles/dbclient/core.js';

// The dbclient's binding (src/roles/dbclient/binding.ts) is what `minder run` and the simulator
// both run; the daemon's wiring over it is in dbclient-daemon.test.ts, the simulator's in
// test/sim. Here: what it reads back from the state file, which the simulator used to skip.

function logged() {
  const lines: Array<{ event: string; key: string; msg: string }> = [];
  const logger = { warn: (o: { event: string; key: string }, msg: string) => lines.push({ ...o, msg }) } as never;
  return { lines, logger };
}

describe('the dbclient binding: its persisted state', () => {
  const directives = { body: { epoch: 7, drained: ['dbserver:2'], paused: false, writer: 'dbserver:1' }, receivedAt: 12, from: 'arbitrator:1' };

  it('reads back the writer and the directives it kept', () => {
    const { lines, logger } = logged();
    const stored: Record<string, unknown> = { [PERSIST_WRITER]: { writer: 'dbserver:1', retiring: [] }, [PERSIST_DIRECTIVES]: directives };
    expect(loadDbclientPersisted((k) => stored[k], logger)).toEqual({ writer: { writer: 'dbserver:1', retiring: [] }, directives });
    expect(lines).toEqual([]);
  });

  it('sets aside what does not fit, loudly, and starts without it', () => {
    const { lines, logger } = logged();
    const stored: Record<string, unknown> = { [PERSIST_WRITER]: { writer: 'not a party', retiring: [] }, [PERSIST_DIRECTIVES]: { ...directives, body: { epoch: -1 } } };
    expect(loadDbclientPersisted((k) => stored[k], logger)).toEqual({});
    expect(lines.map((l) => [l.event, l.key])).toEqual([
      ['state_ignored', PERSIST_WRITER],
      ['state_ignored', PERSIST_DIRECTIVES],
    ]);
  });

  it('a state file that never held them is no finding', () => {
    const { lines, logger } = logged();
    expect(loadDbclientPersisted(() => undefined, logger)).toEqual({});
    expect(lines).toEqual([]);
  });
});
