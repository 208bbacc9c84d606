import { MinderError } from '../errors.js';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ZodError } from 'zod';
import { Keyring, KeyError } from '../protocol/keys.js';
import { assertPrivateFile, readKeyFile } from './key-files.js';
import { parseYaml } from './lazy-yaml.js';
import type { PartyId } from '../protocol/party.js';
import type { Address } from '../correspondents/transport.js';
import { type DbclientParty, type DbserverParty, type Party, type SiteConfig, siteConfigSchema } from './schema.js';

export class ConfigError extends MinderError {
  declare readonly code: 'CONFIG_INVALID';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super('CONFIG_INVALID', `${source}: ${problems.join('; ')}`);
  }
}

function zodProblems(err: ZodError): string[] {
  return err.issues.map(
    (i) =>
      `${
        i.path.length
          ? i.path
              .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
              .join('')
              .replace(/^\./, '')
          : '(top)'
      }: ${i.message}`,
  );
}

/**
 * A key twice in one object of a valid JSON text, else null. JSON.parse keeps the last silently;
 * the YAML parser refuses it, and so does a JSON config.
 */
export function duplicateJsonKey(text: string): string | null {
  const stack: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) return null; // not JSON: JSON.parse has said so already
      let k = j + 1;
      while (k < text.length && /\s/.test(text[k] as string)) k++;
      const keys = stack.at(-1);
      if (text[k] === ':' && keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = j;
    }
  }
  return null;
}

/** Parses and validates a site config document (YAML or JSON text). Paths resolve against baseDir. */
export function parseSiteConfig(text: string, source: string, baseDir: string): SiteConfig {
  let raw: unknown;
  let json = false;
  if (/^\s*\{/.test(text)) {
    // JSON (a subset of YAML: the same document either way) without loading the YAML parser.
    try {
      raw = JSON.parse(text);
      json = true;
    } catch {
      // Not strict JSON (YAML flow style, say): the YAML parser judges it.
    }
    const dup = json ? duplicateJsonKey(text) : null;
    if (dup !== null) throw new ConfigError(source, [`not valid YAML/JSON: the key ${JSON.stringify(dup)} appears twice in one object`]);
  }
  if (!json) {
    try {
      raw = parseYaml(text);
    } catch (err) {
      throw new ConfigError(source, [`not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`]);
    }
  }
  const r = siteConfigSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(source, zodProblems(r.error));
  const cfg = r.data;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  cfg.stateDir = abs(cfg.stateDir);
  for (const k of cfg.keys.files) k.path = abs(k.path);
  if (cfg.arbitrator.store === 'etcd' && cfg.arbitrator.etcd.tls) {
    const t = cfg.arbitrator.etcd.tls;
    t.ca = abs(t.ca);
    if (t.cert !== undefined) t.cert = abs(t.cert);
    if (t.key !== undefined) t.key = abs(t.key);
  }
  for (const p of cfg.parties) if (p.id.startsWith('dbserver:')) (p as DbserverParty).mariadb.passwordFile = abs((p as DbserverParty).mariadb.passwordFile);
  for (const p of cfg.parties) {
    const h = p.http as { tokenFile?: string } | undefined;
    if (h?.tokenFile !== undefined) h.tokenFile = abs(h.tokenFile);
  }
  const problems = crossCheck(cfg);
  if (problems.length) throw new ConfigError(source, problems);
  return cfg;
}

function crossCheck(cfg: SiteConfig): string[] {
  const problems: string[] = [];
  const seenId = new Map<string, number>();
  const seenAddr = new Map<string, string>();
  cfg.parties.forEach((p, i) => {
    const at = `parties[${i}]`;
    const prev = seenId.get(p.id);
    if (prev !== undefined) problems.push(`${at}.id: duplicate serial ${p.id} (also parties[${prev}])`);
    seenId.set(p.id, i);
    const addr = `${p.host}:${p.port}`;
    const other = seenAddr.get(addr);
    if (other) problems.push(`${at}.port: duplicate address ${addr} (also ${other})`);
    seenAddr.set(addr, p.id);
    if (p.http) {
      const web = `http ${p.http.listen.host}:${p.http.listen.port}`;
      const taken = seenAddr.get(web);
      if (taken) problems.push(`${at}.http.listen: ${p.http.listen.host}:${p.http.listen.port} is also ${taken}'s`);
      seenAddr.set(web, p.id);
    }
    if (p.dc !== undefined && !Object.hasOwn(cfg.dataCentres, p.dc)) {
      problems.push(`${at}.dc: ${p.id} names data centre ${p.dc}, which is not in dataCentres`);
    }
  });
  const arbitrators = cfg.parties.filter((p) => p.id.startsWith('arbitrator:'));
  if (cfg.arbitrator.store === 'local' && arbitrators.length !== 1) {
    problems.push(
      `parties: a site with arbitrator.store local has exactly one arbitrator, found ${arbitrators.length}${arbitrators.length > 1 ? ' (several arbitrators need arbitrator.store etcd: a second copy of a local record is a split-brain risk)' : ''}`,
    );
  }
  if (cfg.arbitrator.store === 'etcd' && (arbitrators.length < 1 || arbitrators.length > 5))
    problems.push(`parties: a site with arbitrator.store etcd has 1 to 5 arbitrators, found ${arbitrators.length}`);
  if (cfg.arbitrator.store === 'etcd') {
    const e = cfg.arbitrator.etcd;
    if (e.leaseTtl < 2000) problems.push(`arbitrator.etcd.leaseTtl: ${e.leaseTtl}ms is too short (at least 2s; etcd grants whole seconds)`);
    if (e.leaseTtl % 1000 !== 0) problems.push('arbitrator.etcd.leaseTtl: etcd grants leases in whole seconds (write e.g. 5s)');
    if (e.requestTimeout * 2 > e.leaseTtl) problems.push('arbitrator.etcd.requestTimeout: must be at most half of leaseTtl (a leader must learn it lost etcd before its lease can expire)');
    if (e.tls && (e.tls.cert === undefined) !== (e.tls.key === undefined)) problems.push('arbitrator.etcd.tls: give both cert and key, or neither');
  }
  const dbservers = cfg.parties.filter((p): p is DbserverParty => p.id.startsWith('dbserver:'));
  if (dbservers.length === 0) problems.push('parties: no dbserver is listed');
  const names = new Map<string, string>();
  for (const d of dbservers) {
    const o = names.get(d.nodeName);
    if (o) problems.push(`parties: ${d.id}.nodeName ${d.nodeName} is also ${o}'s`);
    names.set(d.nodeName, d.id);
  }
  const prios = Object.entries(cfg.dataCentres).map(([n, d]) => [n, d.priority] as const);
  for (const [n, pr] of prios) {
    const same = prios.find(([m, q]) => m !== n && q === pr);
    if (same && n < same[0]) problems.push(`dataCentres.${n}.priority: ${pr} is also ${same[0]}'s; ties must be broken by priority`);
  }
  cfg.parties.forEach((p, i) => {
    if (!p.id.startsWith('dbclient:')) return;
    const lb = (p as DbclientParty).loadBalancer;
    for (const key of Object.keys(lb.servers)) {
      if (!seenId.has(key) || !key.startsWith('dbserver:')) problems.push(`parties[${i}].loadBalancer.servers.${key}: not a dbserver of this site`);
    }
  });
  if (!cfg.keys.files.some((k) => k.id === cfg.keys.send)) problems.push(`keys.send: key id ${cfg.keys.send} is not among keys.files`);
  const ids = new Set<number>();
  cfg.keys.files.forEach((k, i) => {
    if (ids.has(k.id)) problems.push(`keys.files[${i}].id: duplicate key id ${k.id}`);
    ids.add(k.id);
  });
  const t = cfg.timings;
  if (t.ackTimeout < 100) problems.push(`timings.ackTimeout: ${t.ackTimeout}ms is too short (at least 100ms)`);
  if (t.staleAfter <= t.reportInterval) problems.push('timings.staleAfter: must be longer than timings.reportInterval, or every party looks stale between reports');
  if (t.failoverPeriod < t.ackTimeout) problems.push('timings.failoverPeriod: must be at least timings.ackTimeout');
  if (t.clockJump < 100) problems.push(`timings.clockJump: ${t.clockJump}ms is too short (at least 100ms; NTP's own slewing would look like jumps)`);
  if (t.configRefresh < 1000) problems.push(`timings.configRefresh: ${t.configRefresh}ms is too short (at least 1s; every party reads the database this often)`);
  return problems;
}

export function loadSiteConfigFile(path: string): SiteConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parseSiteConfig(text, path, dirname(resolve(path)));
}

/** Loads every key file of the config, refusing files that others can read. */
export function loadKeyring(cfg: SiteConfig, source = 'site config'): Keyring {
  try {
    return new Keyring(
      cfg.keys.files.map((k) => readKeyFile(k.path, k.id)),
      cfg.keys.send,
    );
  } catch (err) {
    if (err instanceof KeyError) throw new ConfigError(source, [`keys: ${err.message}`]);
    throw err;
  }
}

export function checkSecretFiles(_cfg: SiteConfig, self: Party, source = 'site config'): void {
  const token = (self.http as { tokenFile?: string } | undefined)?.tokenFile;
  if (token !== undefined) {
    try {
      assertPrivateFile(token, 'API token file');
    } catch (err) {
      if (err instanceof KeyError) throw new ConfigError(source, [`${self.id}.http.tokenFile: ${err.message}`]);
      throw err;
    }
  }
  if (!self.id.startsWith('dbserver:')) return;
  try {
    assertPrivateFile((self as DbserverParty).mariadb.passwordFile, 'password file');
  } catch (err) {
    if (err instanceof KeyError) throw new ConfigError(source, [`${self.id}.mariadb.passwordFile: ${err.message}`]);
    throw err;
  }
}

export function findParty(cfg: SiteConfig, id: string): Party | undefined {
  return cfg.parties.find((p) => p.id === id);
}

/** Long-lived parties' addresses, for the PostOffice's sender check and sends. */
export function directoryOf(cfg: SiteConfig): (id: PartyId) => Address | undefined {
  const m = new Map<string, Address>(cfg.parties.map((p) => [p.id, { address: p.host, port: p.port }]));
  return (id) => m.get(id);
}

export function partiesOfType<T extends Party>(cfg: SiteConfig, type: 'arbitrator' | 'dbserver' | 'dbclient'): T[] {
  return cfg.parties.filter((p) => p.id.startsWith(`${type}:`)) as T[];
}
