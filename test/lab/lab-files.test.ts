// Pure checks of the lab's file handling, on contents captured from real nodes (docs/lab.md).

import { describe, expect, it } from 'vitest';
import { parseGrastate, parseGvwstate, providerOptionEntries, renderMyCnf } from './lab-files.js';

const GVW = `my_uuid: 6c55c6ce-e740-11f1-8064-5bf51de6a90f
#vwbeg
view_id: 3 6c55c6ce-e740-11f1-8064-5bf51de6a90f 6
bootstrap: 1
member: 6c55c6ce-e740-11f1-8064-5bf51de6a90f 0
member: 6c75275e-e740-11f1-9280-3b53ce101d31 0
#vwend
`;

const GRA = `# GALERA saved state
version: 2.1
uuid:    6c5624f0-e740-11f1-badd-cb4543f021a3
seqno:   -1
safe_to_bootstrap: 0
`;

describe('lab files', () => {
  it('parses gvwstate.dat after pc.bootstrap', () => {
    const g = parseGvwstate(GVW);
    expect(g.myUuid).toBe('6c55c6ce-e740-11f1-8064-5bf51de6a90f');
    expect(g).toMatchObject({ viewType: 3, viewSeq: 6, bootstrap: true });
    expect(g.viewUuid).toBe('6c55c6ce-e740-11f1-8064-5bf51de6a90f');
    expect(g.members).toEqual([
      { uuid: '6c55c6ce-e740-11f1-8064-5bf51de6a90f', segment: 0 },
      { uuid: '6c75275e-e740-11f1-9280-3b53ce101d31', segment: 0 },
    ]);
  });

  it('parses grastate.dat of a crashed node', () => {
    expect(parseGrastate(GRA)).toMatchObject({
      version: '2.1',
      uuid: '6c5624f0-e740-11f1-badd-cb4543f021a3',
      seqno: -1,
      safeToBootstrap: false,
    });
  });

  it('renders my.cnf with overrides where - and _ are the same key', () => {
    const cnf = renderMyCnf({
      name: 'n1',
      address: '127.0.0.11',
      datadir: '/d',
      socket: '/s',
      pidFile: '/p',
      errorLog: '/e',
      clusterName: 'c',
      clusterAddress: 'gcomm://127.0.0.11',
      providerOptions: new Map(providerOptionEntries('gcache.size=32M; pc.weight=2')),
      extra: [{ 'max-connections': '80' }, { wsrep_slave_threads: '2' }],
    });
    expect(cnf).toContain('wsrep_provider_options="gcache.size=32M;pc.weight=2"');
    expect(cnf).toContain('max_connections=80');
    expect(cnf).not.toContain('max_connections=50');
    expect(cnf).toMatch(/^skip_name_resolve$/m);
    expect(cnf).toContain('wsrep_slave_threads=2');
  });
});
