/**
 * The operator's words → one request. The same parser serves the one-shot form
 * (`minder command drain dbserver:3 --reason "disk"`) and the interactive prompt, so a line
 * typed at the prompt means exactly what it means on the command line.
 */
export type OperatorCommand =
  | { verb: 'status'; json: boolean; watch?: boolean }
  | { verb: 'events'; json: boolean; follow?: boolean }
  | { verb: 'drain' | 'undrain'; node: string; reason: string }
  | { verb: 'pause' | 'resume'; reason: string }
  | { verb: 'promote'; target: string; force: boolean; reason: string; confirmLost?: string[] }
  | { verb: 'bootstrap'; target: string; force: boolean; confirm: boolean; reason: string }
  | { verb: 'withdraw'; decisionId: string; reason: string }
  | { verb: 'relearned'; force: boolean; reason: string }
  | { verb: 'help' }
  | { verb: 'quit' };

export interface SiteNames {
  dbservers: Array<{ id: string; nodeName: string }>;
  dcs: string[];
}

export type Parsed = { ok: true; command: OperatorCommand } | { ok: false; error: string };

export const VERBS = ['status', 'events', 'drain', 'undrain', 'pause', 'resume', 'promote', 'bootstrap', 'withdraw', 'relearned', 'help', 'quit'] as const;

export const HELP = `Commands (one-shot: minder command -c SITE.yaml VERB …; or type them at the prompt):
  status [--json] [--watch]               every party at a glance; --json: the stable document;
                                          --watch: redraw every 2 s (one-shot only)
  events [--json] [--follow]              the arbitrator's recent decisions, drains, pause…;
                                          --follow: keep printing new ones (one-shot only)
  drain NODE [--reason "…"]              no new connections to NODE; existing ones finish
  undrain NODE [--reason "…"]            NODE takes new connections again
  pause [--reason "…"]                   promote nothing automatically until resume
  resume [--reason "…"]                  automatic promotion on again
  promote DC|NODE [--force] --reason "…" promote the current non-Primary view of DC or NODE;
                                          --force waives the half-weight rule (the rest is gone)
                                          and supersedes (withdraws) a pending decision;
    [--confirm-lost NODE,NODE]            name the nodes last seen Primary outside the target,
                                          after checking by hand that they are really gone
  withdraw DECISION --reason "…"         withdraw a pending decision (dec-…): its target refuses it
  relearned --force --reason "…"         trust this arbitrator's records again after a lost state
                                          file, once you have checked every node by hand
  bootstrap confirm [--reason "…"]       cold start: carry out the arbitrator's proposed plan
  bootstrap NODE --force --reason "…"    cold start: bootstrap NODE although nodes are missing
                                          (never from an empty datadir; docs/cold-start.md)
  help, quit
NODE is a dbserver party (dbserver:3) or its Galera node name; DC is a data centre name.`;

/** Splits a line into words; "double" and 'single' quotes group, backslash escapes. */
export function tokenize(line: string): { ok: true; words: string[] } | { ok: false; error: string } {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) return { ok: false, error: `unclosed ${quote} quote` };
  if (inWord) words.push(cur);
  return { ok: true, words };
}

interface Flags {
  json: boolean;
  force: boolean;
  watch: boolean;
  follow: boolean;
  reason: string | null;
  confirmLost: string[] | null;
  rest: string[];
}

function flags(words: string[]): Flags | string {
  const f: Flags = { json: false, force: false, watch: false, follow: false, reason: null, confirmLost: null, rest: [] };
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (w === '--json') f.json = true;
    else if (w === '--force') f.force = true;
    else if (w === '--watch' || w === '-w') f.watch = true;
    else if (w === '--follow' || w === '-f') f.follow = true;
    else if (w === '--confirm-lost' || w.startsWith('--confirm-lost=')) {
      const v = w === '--confirm-lost' ? words[++i] : w.slice('--confirm-lost='.length);
      if (v === undefined || v === '') return '--confirm-lost needs the nodes, comma-separated (dbserver:3,dbserver:4)';
      f.confirmLost = [...(f.confirmLost ?? []), ...v.split(',').filter(Boolean)];
    } else if (w === '--reason' || w === '-r') {
      const v = words[i + 1];
      if (v === undefined) return `${w} needs a value`;
      f.reason = v;
      i++;
    } else if (w.startsWith('--reason=')) f.reason = w.slice('--reason='.length);
    else if (w.startsWith('-') && w.length > 1 && !/^-\d/.test(w)) return `unknown option ${w}`;
    else f.rest.push(w);
  }
  return f;
}

/** A dbserver by party id, serial number or Galera node name → its party id. */
export function resolveNode(names: SiteNames, word: string): string | null {
  const byId = names.dbservers.find((d) => d.id === word || d.nodeName === word || d.id === `dbserver:${word}`);
  return byId ? byId.id : null;
}

function nodeList(names: SiteNames): string {
  return names.dbservers.map((d) => `${d.id} (${d.nodeName})`).join(', ');
}

export function parseWords(words: string[], names: SiteNames): Parsed {
  const [verb, ...args] = words;
  if (verb === undefined) return { ok: false, error: `name a command: ${VERBS.join(', ')}` };
  const f = flags(args);
  if (typeof f === 'string') return { ok: false, error: f };
  const reason = (f.reason ?? '').slice(0, 200);
  const noExtra = (n: number): string | null => (f.rest.length > n ? `${verb}: unexpected ${f.rest.slice(n).join(' ')}` : null);
  switch (verb) {
    case 'status': {
      const e = noExtra(0);
      return e ? { ok: false, error: e } : { ok: true, command: { verb, json: f.json, ...(f.watch ? { watch: true } : {}) } };
    }
    case 'events': {
      const e = noExtra(0);
      return e ? { ok: false, error: e } : { ok: true, command: { verb, json: f.json, ...(f.follow ? { follow: true } : {}) } };
    }
    case 'drain':
    case 'undrain': {
      const word = f.rest[0];
      if (word === undefined) return { ok: false, error: `${verb} needs a node: ${nodeList(names)}` };
      const e = noExtra(1);
      if (e) return { ok: false, error: e };
      const node = resolveNode(names, word);
      if (!node) return { ok: false, error: `no dbserver named ${word}; the site has ${nodeList(names)}` };
      return { ok: true, command: { verb, node, reason } };
    }
    case 'pause':
    case 'resume': {
      const e = noExtra(0);
      return e ? { ok: false, error: e } : { ok: true, command: { verb, reason } };
    }
    case 'promote': {
      const word = f.rest[0];
      if (word === undefined) return { ok: false, error: `promote needs a data centre (${names.dcs.join(', ')}) or a node (${nodeList(names)})` };
      const e = noExtra(1);
      if (e) return { ok: false, error: e };
      const target = names.dcs.includes(word) ? word : resolveNode(names, word);
      if (!target) return { ok: false, error: `no data centre or dbserver named ${word}: data centres ${names.dcs.join(', ')}; nodes ${nodeList(names)}` };
      if (f.force && reason.trim() === '') return { ok: false, error: 'promote --force needs --reason "…" (it is logged with your name)' };
      const confirmLost: string[] = [];
      for (const n of f.confirmLost ?? []) {
        const id = resolveNode(names, n);
        if (!id) return { ok: false, error: `--confirm-lost: no dbserver named ${n}; the site has ${nodeList(names)}` };
        confirmLost.push(id);
      }
      if (confirmLost.length && !f.force) return { ok: false, error: '--confirm-lost goes with --force' };
      return { ok: true, command: { verb, target, force: f.force, reason, ...(confirmLost.length ? { confirmLost } : {}) } };
    }
    case 'withdraw': {
      const id = f.rest[0];
      if (id === undefined) return { ok: false, error: 'withdraw needs a decision id (dec-…, as `status` lists it)' };
      const e = noExtra(1);
      if (e) return { ok: false, error: e };
      if (reason.trim() === '') return { ok: false, error: 'withdraw needs --reason "…" (it is logged with your name)' };
      return { ok: true, command: { verb, decisionId: id, reason } };
    }
    case 'relearned': {
      const e = noExtra(0);
      if (e) return { ok: false, error: e };
      if (!f.force || reason.trim() === '')
        return { ok: false, error: 'relearned needs --force and --reason "…": you vouch that no promotion this arbitrator forgot is live (check every node by hand)' };
      return { ok: true, command: { verb, force: true, reason } };
    }
    case 'bootstrap': {
      const word = f.rest[0];
      if (word === undefined) return { ok: false, error: `bootstrap needs \`confirm\` (the proposed plan) or a node with --force (${nodeList(names)})` };
      const e = noExtra(1);
      if (e) return { ok: false, error: e };
      if (word === 'confirm') return { ok: true, command: { verb, target: '', force: false, confirm: true, reason } };
      const target = resolveNode(names, word);
      if (!target) return { ok: false, error: `no dbserver named ${word}; the site has ${nodeList(names)}` };
      if (!f.force || reason.trim() === '') return { ok: false, error: 'bootstrap NODE needs --force --reason "…" (it is logged with your name); `bootstrap confirm` carries out the proposed plan' };
      return { ok: true, command: { verb, target, force: true, confirm: false, reason } };
    }
    case 'help':
    case '?':
      return { ok: true, command: { verb: 'help' } };
    case 'quit':
    case 'exit':
      return { ok: true, command: { verb: 'quit' } };
    default:
      return { ok: false, error: `unknown command ${verb}; commands: ${VERBS.join(', ')}` };
  }
}

/** Tab completion: verbs first, then node or DC names, then the verb's options. */
export function complete(line: string, names: SiteNames): [string[], string] {
  const endsInSpace = /\s$/.test(line);
  const words = line.trim() === '' ? [] : line.trim().split(/\s+/);
  const current = endsInSpace ? '' : (words.pop() ?? '');
  const nodes = names.dbservers.flatMap((d) => [d.id, d.nodeName]);
  let pool: string[];
  if (words.length === 0) pool = [...VERBS];
  else {
    const verb = words[0];
    const hasTarget = words.length >= 2;
    switch (verb) {
      case 'drain':
      case 'undrain':
        pool = hasTarget ? ['--reason'] : nodes;
        break;
      case 'promote':
        pool = hasTarget ? ['--force', '--reason', '--confirm-lost'] : [...names.dcs, ...nodes];
        break;
      case 'withdraw':
        pool = hasTarget ? ['--reason'] : [];
        break;
      case 'relearned':
        pool = ['--force', '--reason'];
        break;
      case 'bootstrap':
        pool = hasTarget ? ['--force', '--reason'] : ['confirm', ...nodes];
        break;
      case 'pause':
      case 'resume':
        pool = ['--reason'];
        break;
      case 'status':
        pool = ['--json', '--watch'];
        break;
      case 'events':
        pool = ['--json', '--follow'];
        break;
      default:
        pool = [];
    }
  }
  const hits = pool.filter((c) => c.startsWith(current));
  // A single hit is completed with the space after it, ready for the next word.
  return [hits.length === 1 ? [`${hits[0]} `] : hits, current];
}
