import type { PartySummary, StatusSummary } from '../../roles/arbitrator/summary-doc.js';

/**
 * The human form of `status`: one line per party, a loud banner while paused, then what the
 * arbitrator concluded last and its latest decisions with their reasons. `--json` prints the
 * document itself instead.
 */
function age(ms: number | null): string {
  if (ms === null) return 'never';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.round(ms / 3_600_000)}h`;
}

function when(at: number | null): string {
  return at === null
    ? '-'
    : new Date(at)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function row(p: PartySummary): string[] {
  const stale = p.reportAgeMs !== null && !p.fresh ? ' STALE' : '';
  if (p.db) {
    const d = p.db;
    const role = `dbserver${d.writer ? ' (writer)' : ''}`;
    // A report past staleAfter says what was, not what is: its node's state is unknown.
    const known = d.mariadb === 'down' ? `DOWN, recovered ${d.recoveredSeqno ?? '?'}` : `${d.cluster ?? '?'} ${d.localState ?? '?'}`;
    const cluster = !p.fresh ? 'unknown' : d.mariadb === 'down' ? 'DOWN' : (d.cluster ?? '?');
    const state = !p.fresh ? (p.reportAgeMs === null ? 'never heard' : `last known: ${known}`) : d.mariadb === 'down' ? `recovered ${d.recoveredSeqno ?? '?'}` : (d.localState ?? '?');
    const seqno = d.seqno !== null ? String(d.seqno) : d.recoveredSeqno !== null ? `(${d.recoveredSeqno})` : '-';
    return [p.dc ?? '-', p.party, role, cluster, state, seqno, d.drained ? 'DRAINED' : '-', `${age(p.reportAgeMs)}${stale}`, d.sessions === null ? '-' : String(d.sessions)];
  }
  const c = p.client;
  if (!p.fresh)
    return [
      p.dc ?? '-',
      p.party,
      'dbclient',
      'unknown',
      c ? `last known: ${c.lbKind} ${c.lbReachable ? 'up' : 'UNREACHABLE'}, epoch ${c.epochApplied}` : 'never heard',
      '-',
      '-',
      `${age(p.reportAgeMs)}${stale}`,
      '-',
    ];
  const state = c ? (c.lbReachable ? `${c.lbKind} up, epoch ${c.epochApplied}` : `${c.lbKind} UNREACHABLE${c.lbError ? `: ${c.lbError}` : ''}`) : '?';
  return [p.dc ?? '-', p.party, 'dbclient', '-', state, '-', '-', `${age(p.reportAgeMs)}${stale}`, c ? String(c.sessions) : '-'];
}

export function renderStatus(doc: StatusSummary): string {
  const a = doc.arbitrator;
  const out: string[] = [];
  out.push(`site ${doc.site} · ${a.party} (incarnation ${a.incarnation}${a.startedAt !== null ? `, up ${age(doc.generatedAt - a.startedAt)}` : ''}) · config ${a.configSource}`);
  out.push(`epoch ${a.epoch} · writer ${a.writer ?? 'none'} · drained ${a.drained.length ? a.drained.join(', ') : 'none'} · DC priority ${a.dcOrder.join(' > ')}`);
  if (a.paused) {
    const line = `PAUSED${a.pausedBy ? ` by ${a.pausedBy}` : ''}${a.pausedReason ? ` (${a.pausedReason})` : ''}${a.pausedAt !== null ? ` since ${when(a.pausedAt)}` : ''}: NOTHING IS PROMOTED AUTOMATICALLY — 'resume' to re-enable`;
    const bar = '!'.repeat(Math.min(line.length + 8, 110));
    out.push(bar, `!!  ${line}  !!`, bar);
  }
  if (a.memory?.relearning) {
    out.push(
      `RELEARNING${a.memory.since !== null ? ` since ${when(a.memory.since)}` : ''}: ${a.memory.why ?? 'its records are not trusted'} — nothing is promoted until every member of the last primary component has reported what it carried out, or \`relearned --force --reason "…"\` after checking every node by hand`,
    );
  }
  if (a.store) out.push(`arbitrator store: etcd · ${a.store.text}`);
  const cs = a.coldStartPlan;
  if (cs?.active) {
    out.push(`COLD START (policy ${cs.policy}): ${cs.text}`);
    for (const n of cs.nodes.filter((x) => x.status !== 'up')) {
      const seqno = n.seqno !== null ? `seqno ${n.seqno}` : 'no seqno';
      const safe = n.safeToBootstrap === null ? '' : ` · safe_to_bootstrap ${n.safeToBootstrap ? 1 : 0}`;
      out.push(`  ${n.party}: ${n.status === 'unheard' ? 'MISSING' : 'down'} · ${seqno}${safe}${n.why ? ` · ${n.why}` : ''}`);
    }
  }
  // Rejoin progress, and loudly a node that cannot rejoin (docs/cold-start.md, Rejoining).
  const rejoin = a.rejoin ?? [];
  if (rejoin.length) {
    const bad = rejoin.filter((r) => r.phase === 'cannot_rejoin' || r.phase === 'stalled');
    out.push(bad.length ? `REJOIN: ${bad.map((r) => `${r.party} ${r.phase === 'stalled' ? 'STALLED' : 'CANNOT REJOIN'}`).join(', ')}` : 'REJOIN:');
    for (const r of rejoin) {
      const what = r.phase === 'cannot_rejoin' ? 'CANNOT REJOIN' : r.phase === 'stalled' ? 'STALLED' : r.phase === 'state_transfer' ? 'state transfer' : 'joining';
      out.push(`  ${r.party}: ${what} · ${r.text} · since ${age(doc.generatedAt - r.since)}`);
    }
  }
  const lp = a.lastPrimary;
  out.push(
    lp
      ? `last primary component: conf ${lp.confId ?? '?'}, ${lp.members.length} members (${lp.members.map((m) => m.party ?? m.name ?? m.uuid.slice(0, 8)).join(', ')}), seen ${age(lp.ageMs)} ago`
      : 'last primary component: not seen yet',
  );
  out.push('');
  const rows = [['DC', 'PARTY', 'ROLE', 'CLUSTER', 'STATE', 'SEQNO', 'DRAINED', 'AGE', 'SESSIONS'], ...doc.parties.map(row)];
  rows.push([a.dc ?? '-', a.party, 'arbitrator', '-', a.paused ? 'PAUSED' : 'active', '-', '-', '0.0s', '-']);
  out.push(...table(rows));
  // The hook is loud when it does not arrive: the DBA's fix is in my.cnf or on the socket.
  for (const p of doc.parties) {
    const h = p.db?.hook;
    if (h?.state === 'missing') out.push(`${p.party}: ${h.text}`);
    else if (h?.state === 'none') out.push(`${p.party}: hook: ${h.text}`);
  }
  out.push('');
  const ev = a.evaluation;
  if (ev) {
    out.push(`now (${when(ev.at)}):`);
    for (const r of ev.reasons) out.push(`  - ${r.text}`);
  }
  out.push(a.decisions.length ? 'last decisions:' : 'no promotion decided yet');
  for (const d of a.decisions.slice(0, 5)) {
    const why = [d.outcomeCode, d.outcomeReason].filter(Boolean).join(': ');
    const outcome = d.outcome === 'pending' ? 'pending' : `${d.outcome.replace('_', ' ')}${why ? ` (${why})` : ''}`;
    const what = d.kind ?? 'make_primary';
    out.push(`  ${when(d.decidedAt)}  ${d.id}  ${what} → ${d.target}${what === 'make_primary' ? ` for ${d.members.join('+')}` : ''}${d.forced ? ' FORCED' : ''}: ${outcome}`);
    out.push(`      reason: ${d.reason}`);
  }
  const g = a.datagrams;
  if (g) {
    const dropped = Object.entries(g.drops).filter(([, n]) => n > 0);
    const total = dropped.reduce((n, [, k]) => n + k, 0);
    out.push(`datagrams at ${a.party}: accepted ${g.accepted}, sent ${g.sent}, resent ${g.resent}, dropped ${total}${dropped.length ? ` (${dropped.map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}`);
  }
  if (a.journal.length) {
    out.push('recent:');
    for (const j of a.journal.slice(0, 8)) out.push(`  ${when(j.at)}  ${j.event}: ${j.text}`);
  }
  return `${out.join('\n')}\n`;
}

/** Stable JSON: the document as built, two-space indented. */
export function renderJson(doc: StatusSummary): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export interface JournalLine {
  at: number;
  event: string;
  text: string;
}

/** The arbitrator's journal, oldest first (the document lists it newest first). */
export function journalOf(doc: StatusSummary): JournalLine[] {
  return [...doc.arbitrator.journal].reverse();
}

/** `events`: one line per entry, or one JSON object per line with --json. */
export function renderEvents(lines: readonly JournalLine[], json: boolean): string {
  if (lines.length === 0) return '';
  return `${lines.map((j) => (json ? JSON.stringify(j) : `${when(j.at)}  ${j.event}: ${j.text}`)).join('\n')}\n`;
}
