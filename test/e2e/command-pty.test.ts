// `minder command` driven through a real pseudo-terminal (tmux): the interactive prompt with
// status, drain, undrain, pause, resume, tab completion and history, and the one-shot form with
// its exit codes — against a real `minder run` arbitrator process. The dbservers are test
// correspondents (real PostOffices on loopback UDP) that report a healthy 4-node cluster as a
// current dbserver does (real pc.weight, the decisions carried out: none; a new arbitrator relearns from them), so
// this file needs no mariadbd. Run: npm run build && npx vitest run --project lab test/e2e/command-pty.test.ts

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realClock } from '../../src/correspondents/clock.js';
import { PostOffice } from '../../src/correspondents/post-office.js';
import { UdpTransport } from '../../src/correspondents/udp-transport.js';
import { silentLogger } from '../../src/log.js';
import type { PartyId } from '../../src/protocol/party.js';
import type { BodyOf, WsrepStatus } from '../../src/protocol/verbs.js';
import { directoryOf, loadKeyring, loadSiteConfigFile } from '../../src/site/load-config.js';
import { mathRng } from '../../src/util/rng.js';
import { MINDER } from '../support/cli.js';
import { MinderSite } from '../support/minder-site.js';

const NODES = ['n1', 'n2', 'n3', 'n4'].map((name, i) => ({ name, dc: i < 2 ? 'dc1' : 'dc2', address: `127.0.0.${71 + i}`, port: 3306, datadir: '/nonexistent' }));
const UUIDS = NODES.map((_, i) => `0000000${i + 1}-e740-11f1-8064-5bf51de6a90f`);
const TMUX = ['-L', `minder-pty-${process.pid}`];

function tmux(...args: string[]): string {
  return execFileSync('tmux', [...TMUX, ...args], { encoding: 'utf8' });
}

function screen(): string {
  return tmux('capture-pane', '-p', '-J', '-t', 'op', '-S', '-400');
}

async function until(what: string, pred: (text: string) => boolean, timeoutMs = 15_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const text = screen();
    if (pred(text)) return text;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the screen:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Types a line at the prompt and waits for the next prompt after its output. */
async function type(line: string, expectInOutput: RegExp): Promise<string> {
  const before = screen()
    .split('\n')
    .filter((l) => l.trim() !== '').length;
  tmux('send-keys', '-t', 'op', '-l', line);
  tmux('send-keys', '-t', 'op', 'Enter');
  const text = await until(`output of "${line}"`, (t) => {
    const lines = t.split('\n').filter((l) => l.trim() !== '');
    const after = lines.slice(Math.max(0, before - 1)).join('\n');
    return expectInOutput.test(after) && /minder( \(PAUSED\))?> $/.test(lines.at(-1) ?? '');
  });
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(Math.max(0, before - 1)).join('\n');
}

describe('minder command through a pseudo-terminal', () => {
  let site: MinderSite;
  let offices: PostOffice[] = [];
  let timer: NodeJS.Timeout | undefined;
  let historyDir: string;

  beforeAll(async () => {
    if (!existsSync(MINDER)) throw new Error(`${MINDER} is missing: run npm run build first`);
    site = new MinderSite({
      site: 'pty',
      nodes: NODES,
      dcs: ['dc1', 'dc2'],
      credentials: { user: 'minder', password: 'unused' },
      arbitrator: { address: '127.0.0.70', port: 4800 },
      timings: { reportInterval: '1s', ackTimeout: '500ms', failoverPeriod: '3s', staleAfter: '4s' },
    });
    site.start('arbitrator:1');
    const cfg = loadSiteConfigFile(site.configPath);
    const keyring = loadKeyring(cfg);
    offices = await Promise.all(
      NODES.map(async (n, i) => {
        const self = `dbserver:${i + 1}` as PartyId;
        return new PostOffice({
          self,
          site: cfg.site,
          keyring,
          transport: await UdpTransport.bind(n.address, 4801),
          clock: realClock,
          rng: mathRng,
          incarnation: Date.now(),
          directory: directoryOf(cfg),
          ackTimeoutMs: 500,
          staleAfterMs: 4000,
          maxClockSkewMs: 60_000,
          logger: silentLogger(),
        });
      }),
    );
    // Each keeps the directives it is sent and reports them (`held`), as a dbserver does: the
    // arbitrator confirms a pause to the operator once a receiver holds it.
    const held: Array<BodyOf<'directives'> | undefined> = offices.map(() => undefined);
    for (const [i, po] of offices.entries()) {
      po.onMessage((m) => {
        if (m.verb === 'directives') held[i] = m.body as BodyOf<'directives'>;
      });
    }
    const report = () =>
      offices.forEach((po, i) => {
        const h = held[i];
        const wsrep: WsrepStatus = {
          clusterStatus: 'Primary',
          localState: 'Synced',
          ready: true,
          connected: true,
          clusterSize: 4,
          stateUuid: 'a1b2c3d4-e740-11f1-8064-5bf51de6a90f',
          confId: 4,
          lastCommitted: 1000 + i,
          nodeUuid: UUIDS[i] as string,
          members: NODES.map((n, j) => ({ uuid: UUIDS[j] as string, name: n.name, address: `${n.address}:3306` })),
          lastPrimary: { viewId: 'pc-4', members: [...UUIDS].sort() },
          pcWeight: 1,
        };
        po.publish('arbitrator:1', 'db_status_report', {
          observedAt: Date.now(),
          dc: NODES[i]?.dc ?? 'dc1',
          mariadb: 'up',
          wsrep,
          recovered: null,
          decision: null,
          error: null,
          carried: [],
          ...(h ? { held: { epoch: h.epoch, drained: [...h.drained], paused: h.paused, writer: h.writer } } : {}),
        });
      });
    report();
    timer = setInterval(report, 700);
    historyDir = mkdtempSync(join(tmpdir(), 'minder-history-'));
    await site.waitForLog('arbitrator:1', (l) => l.event === 'writer_changed', 15_000);
    tmux(
      'new-session',
      '-d',
      '-s',
      'op',
      '-x',
      '180',
      '-y',
      '80',
      `env USER=alice SUDO_USER= MINDER_HISTORY=${join(historyDir, 'history')} ${process.execPath} ${MINDER} command -c ${site.configPath}`,
    );
    await until('the prompt', (t) => /Type help, or quit\.\nminder> $/m.test(`${t.trimEnd()} `));
  });

  afterAll(async () => {
    if (timer) clearInterval(timer);
    try {
      tmux('kill-server');
    } catch {
      /* already gone */
    }
    await Promise.all(offices.map((o) => o.close()));
    await site?.close();
    if (historyDir) rmSync(historyDir, { recursive: true, force: true });
  });

  it('status shows every party in a table', async () => {
    const out = await type('status', /arbitrator:1\s+arbitrator/);
    expect(out).toMatch(/DC\s+PARTY\s+ROLE\s+CLUSTER\s+STATE\s+SEQNO\s+DRAINED\s+AGE\s+SESSIONS/);
    expect(out).toMatch(/dc1\s+dbserver:1\s+dbserver \(writer\)\s+Primary\s+Synced\s+1000\s+-/);
    expect(out).toMatch(/dc2\s+dbserver:4\s+dbserver\s+Primary\s+Synced\s+1003\s+-/);
    expect(out).toMatch(/a primary component exists: dbserver:1\+dbserver:2\+dbserver:3\+dbserver:4 \(conf 4\)/);
    expect(out).not.toMatch(/PAUSED/);
  });

  it('drain and undrain, with the result in status and the operator in the arbitrator log', async () => {
    expect(await type('drain n3 --reason "disk swap"', /dbserver:3 drained/)).toMatch(/no new connections, existing ones finish \(epoch \d+\)/);
    expect(await type('status', /arbitrator:1\s+arbitrator/)).toMatch(/dc2\s+dbserver:3\s+dbserver\s+Primary\s+Synced\s+1002\s+DRAINED/);
    const line = await site.waitForLog('arbitrator:1', (l) => l.event === 'operator_drain', 5000);
    expect(line).toMatchObject({ operator: 'alice', reason: 'disk swap', from: 'command:1' });
    expect(await type('undrain dbserver:3', /dbserver:3 undrained/)).toMatch(/epoch \d+/);
    expect(await type('status', /arbitrator:1\s+arbitrator/)).toMatch(/dc2\s+dbserver:3\s+dbserver\s+Primary\s+Synced\s+1002\s+-/);
  });

  it('pause shows a loud banner and a PAUSED prompt; resume clears them', async () => {
    expect(await type('pause --reason "maintenance window"', /paused: nothing is promoted automatically/)).toMatch(/minder \(PAUSED\)> $/);
    const st = await type('status', /arbitrator:1\s+arbitrator\s+-\s+PAUSED/);
    expect(st).toMatch(/!! {2}PAUSED by alice \(maintenance window\) since .*NOTHING IS PROMOTED AUTOMATICALLY/);
    const r = await type('resume', /resumed: automatic promotion is on/);
    expect(r.split('\n').at(-1)).toBe('minder> ');
  });

  it('refusals are explained at the prompt, and the prompt stays', async () => {
    for (const n of ['n1', 'n2', 'n3']) await type(`drain ${n}`, /drained/);
    expect(await type('drain n4', /refused: dbserver:4 is the last node that can serve/)).toMatch(/minder> $/);
    for (const n of ['n1', 'n2', 'n3']) await type(`undrain ${n}`, /undrained/);
    expect(await type('drain n9', /no dbserver named n9/)).toMatch(/\(type help\)/);
  });

  it('tab completes verbs and node names; the up arrow recalls history; help helps', async () => {
    tmux('send-keys', '-t', 'op', '-l', 'und');
    await new Promise((r) => setTimeout(r, 200));
    tmux('send-keys', '-t', 'op', 'Tab');
    await until('verb completion', (t) => /minder> undrain\s*$/.test(t.trimEnd()));
    tmux('send-keys', '-t', 'op', '-l', 'dbserver:');
    await new Promise((r) => setTimeout(r, 200));
    // One key per send: readline takes several keys in one read as a paste and inserts a tab.
    tmux('send-keys', '-t', 'op', 'Tab');
    await new Promise((r) => setTimeout(r, 200));
    tmux('send-keys', '-t', 'op', 'Tab');
    await until('the list of nodes', (t) => /dbserver:1\s+dbserver:2\s+dbserver:3\s+dbserver:4/.test(t));
    tmux('send-keys', '-t', 'op', 'C-u');
    tmux('send-keys', '-t', 'op', 'Up');
    await until('the last command recalled', (t) => /minder> drain n9\s*$/.test(t.trimEnd()));
    tmux('send-keys', '-t', 'op', 'C-u');
    expect(await type('help', /promote DC\|NODE/)).toMatch(/drain NODE/);
  });

  it('quit ends the session and keeps the history', async () => {
    tmux('send-keys', '-t', 'op', '-l', 'quit');
    tmux('send-keys', '-t', 'op', 'Enter');
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      try {
        tmux('has-session', '-t', 'op');
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const history = readFileSync(join(historyDir, 'history'), 'utf8');
    expect(history).toMatch(/drain n3 --reason "disk swap"/);
    expect(history.trim().split('\n').at(-1)).toBe('quit');
  });

  it('one-shot: --json is the stable document; refusals exit 6; no answer exits 5', async () => {
    const st = site.command(['status', '--json']);
    expect(st.code).toBe(0);
    const doc = JSON.parse(st.stdout) as { format: number; parties: Array<{ party: string }>; arbitrator: { paused: boolean } };
    expect(doc.format).toBe(1);
    expect(doc.parties.map((p) => p.party)).toEqual(['dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4']);
    const refused = site.command(['promote', 'dc2', '--force', '--reason', 'test']);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/minder: refused: a primary component exists/);
    const usage = site.command(['drain']);
    expect(usage.code).toBe(2);
    await site.stop('arbitrator:1');
    const silent = site.command(['status', '--tries', '2']);
    expect(silent.code).toBe(5);
    expect(silent.stderr).toMatch(/the arbitrator at 127\.0\.0\.70:4800 did not answer within 1 s/);
  });
});
