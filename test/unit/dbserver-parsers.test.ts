import { describe, expect, it } from 'vitest';
import { parseNotifyArgs } from '../../src/hook/notify-args.js';
import { HookFileError, parseHookSettings, pickTarget } from '../../src/hook/hook-file.js';
import { wsrepNotify } from '../../src/protocol/verbs.js';
import { GaleraFileError, parseGrastate, parseGvwstate } from '../../src/roles/dbserver/galera-files.js';
import { confIdOf, membershipFits, membershipOf, pcWeightOf, statusVars, viewSignature, WsrepParseError, wsrepStatusOf } from '../../src/roles/dbserver/wsrep-status.js';

// Captured on the lab (MariaDB 10.11.19, Galera 26.4.23): node n1 in the dc1 half of a 2+2 cut.
const GVWSTATE = `my_uuid: 6c55c6ce-e740-11f1-8064-5bf51de6a90f
#vwbeg
view_id: 3 6c55c6ce-e740-11f1-8064-5bf51de6a90f 5
bootstrap: 0
member: 6c55c6ce-e740-11f1-8064-5bf51de6a90f 0
member: 6c75275e-e740-11f1-9280-3b53ce101d31 0
member: 6ed73426-e740-11f1-afdb-bf63b58f5b08 0
member: 7231a579-e740-11f1-983a-e3696406502b 0
#vwend
`;
const GRASTATE = `# GALERA saved state
version: 2.1
uuid:    6c5624f0-e740-11f1-badd-cb4543f021a3
seqno:   9
safe_to_bootstrap: 0
`;
const NON_PRIMARY_ROWS = [
  ['wsrep_cluster_status', 'non-Primary'],
  ['wsrep_local_state_comment', 'Initialized'],
  ['wsrep_ready', 'OFF'],
  ['wsrep_connected', 'ON'],
  ['wsrep_cluster_size', '2'],
  ['wsrep_gcomm_uuid', '6c55c6ce-e740-11f1-8064-5bf51de6a90f'],
  ['wsrep_cluster_conf_id', '18446744073709551615'],
  ['wsrep_incoming_addresses', '127.0.0.11:3306,127.0.0.12:3306'],
  ['wsrep_cluster_state_uuid', '6c5624f0-e740-11f1-badd-cb4543f021a3'],
  ['wsrep_last_committed', '14'],
].map(([Variable_name, Value]) => ({ Variable_name, Value }));
const MEMBERSHIP_ROWS = [
  { INDEX: 1, UUID: '6c75275e-e740-11f1-9280-3b53ce101d31', NAME: 'n2', ADDRESS: '127.0.0.12:3306' },
  { INDEX: 0, UUID: '6c55c6ce-e740-11f1-8064-5bf51de6a90f', NAME: 'n1', ADDRESS: '127.0.0.11:3306' },
];

describe('Galera state files', () => {
  it('reads the recovered position from grastate.dat', () => {
    expect(parseGrastate(GRASTATE)).toEqual({ uuid: '6c5624f0-e740-11f1-badd-cb4543f021a3', seqno: 9, safeToBootstrap: false });
    expect(parseGrastate(GRASTATE.replace('seqno:   9', 'seqno:   -1').replace('safe_to_bootstrap: 0', 'safe_to_bootstrap: 1'))).toMatchObject({ seqno: -1, safeToBootstrap: true });
    // Older files have no safe_to_bootstrap line: nothing then says it is safe.
    expect(parseGrastate(GRASTATE.replace(/safe_to_bootstrap.*\n/, '')).safeToBootstrap).toBe(false);
  });

  it('refuses a damaged grastate.dat rather than reporting a guessed position', () => {
    expect(() => parseGrastate('version: 2.1\nuuid: nope\nseqno: 3\n')).toThrow(GaleraFileError);
    expect(() => parseGrastate(GRASTATE.replace('seqno:   9', 'seqno: lots'))).toThrow(/seqno/);
    expect(() => parseGrastate('')).toThrow(GaleraFileError);
  });

  it('reads the last primary view from gvwstate.dat, members sorted', () => {
    expect(parseGvwstate(GVWSTATE)).toEqual({
      viewId: '3 6c55c6ce-e740-11f1-8064-5bf51de6a90f 5',
      members: ['6c55c6ce-e740-11f1-8064-5bf51de6a90f', '6c75275e-e740-11f1-9280-3b53ce101d31', '6ed73426-e740-11f1-afdb-bf63b58f5b08', '7231a579-e740-11f1-983a-e3696406502b'],
    });
    // Galera renames a complete temp file into place, but a truncated copy must not pass for a view.
    expect(parseGvwstate(GVWSTATE.slice(0, GVWSTATE.indexOf('#vwend')))).toBeNull();
    expect(() => parseGvwstate(GVWSTATE.replace('view_id: 3 6c55', 'view_id: 3 zz55'))).toThrow(GaleraFileError);
  });
});

describe('wsrep status from SHOW GLOBAL STATUS and WSREP_MEMBERSHIP', () => {
  it("translates a non-Primary snapshot exactly (no conf id, the server's members in index order)", () => {
    const v = statusVars(NON_PRIMARY_ROWS);
    const members = membershipOf(MEMBERSHIP_ROWS);
    expect(members.map((m) => m.name)).toEqual(['n1', 'n2']);
    expect(membershipFits(members, v)).toBe(true);
    const w = wsrepStatusOf(v, members, parseGvwstate(GVWSTATE));
    expect(w).toMatchObject({ clusterStatus: 'non-Primary', localState: 'Initialized', ready: false, connected: true, clusterSize: 2, confId: null, lastCommitted: 14 });
    expect(w.nodeUuid).toBe('6c55c6ce-e740-11f1-8064-5bf51de6a90f');
  });

  it("reads the node's real pc.weight from wsrep_provider_options (issue 11 path 2)", () => {
    // As MariaDB 10.11 / Galera 26.4 print it (abridged).
    const opts =
      'base_dir = /var/lib/mysql/; evs.suspect_timeout = PT5S; pc.announce_timeout = PT3S; pc.bootstrap = NO; pc.checksum = false; pc.ignore_quorum = false; pc.ignore_sb = false; pc.npvo = false; pc.recovery = true; pc.version = 0; pc.wait_prim = true; pc.wait_prim_timeout = PT30S; pc.weight = 2; protonet.backend = asio';
    expect(pcWeightOf(opts)).toBe(2);
    expect(pcWeightOf('pc.weight = 0')).toBe(0);
    expect(pcWeightOf('pc.weight=17;gmcast.segment = 0')).toBe(17);
    expect(pcWeightOf('pc.wait_prim = true; pc.weight_x = 3')).toBeNull();
    expect(pcWeightOf('pc.weight = 300')).toBeNull();
    expect(pcWeightOf('')).toBeNull();
  });

  it('says members do not fit when they are of another view than the snapshot', () => {
    const v = statusVars(NON_PRIMARY_ROWS);
    expect(membershipFits(membershipOf(MEMBERSHIP_ROWS.slice(0, 1)), v)).toBe(false);
    const other = statusVars(NON_PRIMARY_ROWS.map((r) => (r.Variable_name === 'wsrep_cluster_size' ? { ...r, Value: '3' } : r)));
    expect(viewSignature(other)).not.toBe(viewSignature(v));
  });

  it('refuses missing or foreign values instead of defaulting them', () => {
    const without = statusVars(NON_PRIMARY_ROWS.filter((r) => r.Variable_name !== 'wsrep_cluster_status'));
    expect(() => wsrepStatusOf(without, [], null)).toThrow(WsrepParseError);
    const odd = statusVars(NON_PRIMARY_ROWS.map((r) => (r.Variable_name === 'wsrep_cluster_status' ? { ...r, Value: 'Sideways' } : r)));
    expect(() => wsrepStatusOf(odd, [], null)).toThrow(/Sideways/);
    expect(confIdOf('7')).toBe(7);
    expect(confIdOf('18446744073709551615')).toBeNull();
    expect(() => confIdOf('x')).toThrow(WsrepParseError);
  });
});

describe('wsrep_notify_cmd arguments', () => {
  const members = '0575a93c-e715-11f1-83d3-8b96d15d5227/n1/127.0.0.11:3306,0576aaaa-e715-11f1-83d3-8b96d15d5227/n2/127.0.0.12:3306';

  it('parses the 10-argument form mariadbd passes', () => {
    const argv = ['--status', 'synced', '--uuid', '05763165-e715-11f1-83d3-8b96d15d5227', '--primary', 'yes', '--index', '1', '--members', members];
    const { body, problems } = parseNotifyArgs(argv);
    expect(problems).toEqual([]);
    expect(body).toMatchObject({ status: 'synced', uuid: '05763165-e715-11f1-83d3-8b96d15d5227', primary: true, index: 1 });
    expect(body.members?.map((m) => `${m.name}@${m.address}`)).toEqual(['n1@127.0.0.11:3306', 'n2@127.0.0.12:3306']);
    expect(wsrepNotify.safeParse(body).success).toBe(true);
  });

  it("parses the 8-argument form (disconnected, no --members) and garbd's empty address", () => {
    const { body, problems } = parseNotifyArgs(['--status', 'disconnected', '--uuid', '05763165-e715-11f1-83d3-8b96d15d5227', '--primary', 'no', '--index', '-1']);
    expect(problems).toEqual([]);
    expect(body).toMatchObject({ status: 'disconnected', primary: false, index: -1, members: null });
    const g = parseNotifyArgs(['--status', 'synced', '--uuid', 'u', '--primary', 'yes', '--index', '0', '--members', '0575a93c-e715-11f1-83d3-8b96d15d5227/garb/']);
    expect(g.body.members).toEqual([{ uuid: '0575a93c-e715-11f1-83d3-8b96d15d5227', name: 'garb', address: '' }]);
  });

  it('reports odd arguments as problems and still yields a body that fits the wire schema', () => {
    const huge = Array.from({ length: 70 }, (_, i) => `${String(i).padStart(8, '0')}-0000-0000-0000-000000000000/n${i}/10.0.0.${i}:3306`).join(',');
    for (const argv of [[], ['--primary', 'maybe'], ['--index', 'x', '--status'], ['--members', 'garbage'], ['--members', huge, '--status', 'synced'], ['stray', '--status=joined']]) {
      const { body, problems } = parseNotifyArgs(argv);
      expect(problems.length).toBeGreaterThan(0);
      expect(wsrepNotify.safeParse(body).success).toBe(true);
    }
  });
});

describe('the hook file', () => {
  const ok = { site: 'lab', keyFile: '/etc/minder/hook/site.key', keyId: 1, dbservers: [{ id: 'dbserver:2', host: '127.0.0.12', port: 17002, datadir: '/var/lib/mysql' }] };

  it("is read and checked, with the dbserver's serial as the hook's", () => {
    const s = parseHookSettings(JSON.stringify(ok), 'notify.json');
    expect(s.ackWaitMs).toBe(300);
    expect(s.dbservers[0]).toMatchObject({ id: 'dbserver:2', serial: 2 });
    expect(() => parseHookSettings(JSON.stringify({ ...ok, dbservers: [{ ...ok.dbservers[0], id: 'arbitrator:1' }] }), 'f')).toThrow(HookFileError);
    expect(() => parseHookSettings(JSON.stringify({ ...ok, ackWaitMs: 60_000 }), 'f')).toThrow(/ackWaitMs/);
    expect(() => parseHookSettings('{', 'f')).toThrow(/not JSON/);
  });

  it("picks the dbserver whose datadir is the hook's working directory when it lists several", () => {
    const two = parseHookSettings(JSON.stringify({ ...ok, dbservers: [ok.dbservers[0], { id: 'dbserver:3', host: '127.0.0.13', port: 17003, datadir: '/lab/n3/data/' }] }), 'f');
    const real = (p: string) => p.replace(/\/+$/, '');
    expect(pickTarget(two, '/lab/n3/data', real).id).toBe('dbserver:3');
    expect(() => pickTarget(two, '/elsewhere', real)).toThrow(/no dbserver/);
  });
});
