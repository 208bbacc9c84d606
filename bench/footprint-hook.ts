// Issue 7 §4: does the wsrep_notify_cmd hook delay a Galera state change? mariadbd runs the hook
// and waits for it (docs/lab.md), so the question is whether that wait lands on the path of a view
// change. Measured on the 2+2 lab of bench/garbd-failover.ts with the arbitrator paused, rounds
// alternating between the real hook (`minder notify` → the local dbserver, acked) and a no-op
// hook (the same script exits at once when its notify file is moved aside — the lab's own
// "no dbserver yet" path, so the only difference is the hook's work):
//   bootstrapMs  cut dc1|dc2, both halves non-Primary, hooks of the cut done; then
//                `pc.bootstrap=YES` on n1 → n1 commits an INSERT (polled every 10 ms)
//   peerMs       the same start → n2 (the other dc1 node) reads Primary
//   healMs       heal → all four nodes Synced Primary, size 4 (polled every 100 ms)

import { existsSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isNonPrimary, isSyncedPrimary } from '../test/lab/galera-lab.js';
import { type SplitLab, waitUntil, writes } from '../test/e2e/arbitrator-lab.js';
import { loadavg, type Spread, spread } from './scale-stats.js';

export interface HookRound {
  hook: 'real' | 'noop';
  round: number;
  bootstrapMs: number | null;
  peerMs: number | null;
  healMs: number | null;
  bootstrapRetries: number;
  loadavg1: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NODES = ['n1', 'n2', 'n3', 'n4'] as const;

/** The notify file the lab's hook script reads; moving it aside turns the hook into a no-op. */
function hookFileOf(lab: SplitLab): string {
  const n1 = lab.galera.nodes().find((n) => n.name === 'n1');
  if (!n1) throw new Error('no n1');
  const cmd = /^wsrep_notify_cmd\s*=\s*(\S+)/m.exec(readFileSync(n1.myCnf, 'utf8'))?.[1];
  if (!cmd) throw new Error(`no wsrep_notify_cmd in ${n1.myCnf}`);
  return join(dirname(cmd), 'notify.json');
}

function setHook(file: string, mode: 'real' | 'noop'): void {
  const off = `${file}.off`;
  if (mode === 'noop' && existsSync(file)) renameSync(file, off);
  if (mode === 'real' && existsSync(off)) renameSync(off, file);
}

async function oneRound(lab: SplitLab, hook: 'real' | 'noop', round: number): Promise<HookRound> {
  const g = lab.galera;
  await g.cutDcs('dc1', 'dc2');
  for (const n of NODES) await g.waitFor(n, isNonPrimary, 30_000);
  await sleep(1500); // let the hook runs of the cut itself finish
  const la = Number(loadavg().split(' ')[0]);
  let bootstrapMs: number | null = null;
  let peerMs: number | null = null;
  let retries = 0;
  const t0 = Date.now();
  await g.exec('n1', "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'", undefined, { timeoutMs: 5000 });
  let lastSet = Date.now();
  const peer = (async () => {
    while (peerMs === null && Date.now() - t0 < 20_000) {
      try {
        if ((await g.status('n2', { timeoutMs: 2000 }))['wsrep_cluster_status'] === 'Primary') peerMs = Date.now() - t0;
      } catch {
        /* keep polling */
      }
      if (peerMs === null) await sleep(10);
    }
  })();
  while (Date.now() - t0 < 20_000) {
    if (await writes(g, 'n1', `hook-${hook}-${round}`)) {
      bootstrapMs = Date.now() - t0;
      break;
    }
    // pc.bootstrap can fail with EAGAIN after some outages (docs/lab.md): say again, and count it.
    if (Date.now() - lastSet > 3000) {
      retries++;
      await g.exec('n1', "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'", undefined, { timeoutMs: 5000 }).catch(() => undefined);
      lastSet = Date.now();
    }
    await sleep(10);
  }
  await peer;
  const h0 = Date.now();
  await g.heal();
  let healMs: number | null = null;
  await waitUntil(
    'all four Synced Primary after heal',
    120_000,
    async () => {
      for (const n of NODES) if (!isSyncedPrimary(4)(await g.status(n, { timeoutMs: 2000 }))) return false;
      return true;
    },
    100,
  ).then(() => (healMs = Date.now() - h0));
  return { hook, round, bootstrapMs, peerMs, healMs, bootstrapRetries: retries, loadavg1: la };
}

export async function measureHookDelay(lab: SplitLab, rounds: number, log: (s: string) => void): Promise<HookRound[]> {
  const file = hookFileOf(lab);
  const pause = lab.site.command(['pause', '--reason', 'bench: hook delay']);
  if (pause.code !== 0) throw new Error(`minder command pause failed: ${pause.stderr}`);
  const out: HookRound[] = [];
  try {
    for (let i = 1; i <= rounds; i++) {
      for (const mode of i % 2 === 1 ? (['real', 'noop'] as const) : (['noop', 'real'] as const)) {
        setHook(file, mode);
        const r = await oneRound(lab, mode, i);
        log(
          `[hook-delay] round ${i} ${mode} hook: pc.bootstrap → n1 writable ${r.bootstrapMs} ms, n2 Primary ${r.peerMs} ms, heal → 4 Synced ${r.healMs} ms (retries ${r.bootstrapRetries}, load ${r.loadavg1})`,
        );
        out.push(r);
      }
    }
  } finally {
    setHook(file, 'real');
    lab.site.command(['resume', '--reason', 'bench: hook delay done']);
  }
  return out;
}

export interface HookSummary {
  real: { bootstrapMs: Spread; peerMs: Spread; healMs: Spread };
  noop: { bootstrapMs: Spread; peerMs: Spread; healMs: Spread };
}

export function summarizeHook(rounds: HookRound[]): HookSummary {
  const of = (h: 'real' | 'noop', k: 'bootstrapMs' | 'peerMs' | 'healMs') => spread(rounds.filter((r) => r.hook === h && r[k] !== null).map((r) => r[k] as number));
  const side = (h: 'real' | 'noop') => ({ bootstrapMs: of(h, 'bootstrapMs'), peerMs: of(h, 'peerMs'), healMs: of(h, 'healMs') });
  return { real: side('real'), noop: side('noop') };
}
