import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Bootstrap } from './bootstrap.js';
import { ConfigError, parseSiteConfig } from './load-config.js';
import type { SiteConfig } from './schema.js';

/**
 * A site config as the database stores it: the document text, exactly as pushed (comments and
 * all), and its SHA-256. Every party parses the same text the same way, so what `config show`
 * prints is what the parties run.
 */

/** A site config document is a few kB; anything near this is a mistake, not a site. */
export const MAX_DOCUMENT_BYTES = 1_000_000;

export interface StoredVersion {
  version: number;
  site: string;
  document: string;
  checksum: string;
  pushedBy: string;
  pushedAtMs: number;
}

export function checksumOf(document: string): string {
  return createHash('sha256').update(document, 'utf8').digest('hex');
}

/** Fields that name files or sockets on the hosts; in a shared document they must be absolute. */
function hostPathProblems(raw: unknown): string[] {
  const out: string[] = [];
  const check = (value: unknown, at: string) => {
    if (typeof value === 'string' && !isAbsolute(value)) out.push(`${at}: "${value}" is relative; a config in the database is read on every host, so write it absolute`);
  };
  if (typeof raw !== 'object' || raw === null) return out;
  const doc = raw as Record<string, unknown>;
  check(doc['stateDir'], 'stateDir');
  const files = (doc['keys'] as { files?: unknown } | undefined)?.files;
  if (Array.isArray(files)) {
    files.forEach((f, i) => {
      check((f as Record<string, unknown> | null)?.['path'], `keys.files[${i}].path`);
    });
  }
  const parties = doc['parties'];
  if (Array.isArray(parties)) {
    parties.forEach((p, i) => {
      const party = (p ?? {}) as Record<string, unknown>;
      const m = party['mariadb'] as Record<string, unknown> | undefined;
      if (m) for (const k of ['passwordFile', 'socket', 'datadir']) check(m[k], `parties[${i}].mariadb.${k}`);
      const lb = party['loadBalancer'] as Record<string, unknown> | undefined;
      if (lb?.['kind'] === 'haproxy') check(lb['socket'], `parties[${i}].loadBalancer.socket`);
    });
  }
  return out;
}

/** JSON is stored as YAML so that `show` and `diff` read alike whatever was pushed; one final newline. */
export function normaliseDocument(text: string): string {
  let document = text;
  if (/^\s*\{/.test(text)) {
    try {
      document = stringifyYaml(JSON.parse(text));
    } catch {
      // Not strict JSON (YAML flow style, say): keep it as it is and let the YAML parser judge.
    }
  }
  return document.endsWith('\n') ? document : `${document}\n`;
}

export interface PreparedDocument {
  document: string;
  checksum: string;
  config: SiteConfig;
}

/**
 * Validates a document before it may be pushed: the same checks as `config check`, plus absolute
 * host paths and the site the bootstrap file names. Throws ConfigError with every problem.
 */
export function prepareDocument(text: string, source: string, expectedSite: string): PreparedDocument {
  if (Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) throw new ConfigError(source, [`larger than ${MAX_DOCUMENT_BYTES} bytes`]);
  const document = normaliseDocument(text);
  // Relative paths are resolved against "/" so that what is validated is what parties will read.
  const problems: string[] = [];
  let config: SiteConfig | undefined;
  try {
    config = parseSiteConfig(document, source, '/');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  try {
    problems.push(...hostPathProblems(parseYaml(document)));
  } catch {
    // Unparseable YAML was reported above.
  }
  if (config && config.site !== expectedSite) {
    problems.push(`site: the document is for site ${config.site}, the bootstrap file for site ${expectedSite}; parties of ${expectedSite} would refuse it`);
  }
  if (problems.length || !config) throw new ConfigError(source, problems);
  return { document, checksum: checksumOf(document), config };
}

/** Where a materialised config came from, for error lines. */
export function describeVersion(v: { version: number }): string {
  return `site config version ${v.version}`;
}

/**
 * Turns a stored version into the config this host runs: checksum and site checked, parsed as
 * `config check` would, and the host's own keys and state directory put in from the bootstrap.
 */
export function materialise(v: StoredVersion, boot: Pick<Bootstrap, 'site' | 'keys' | 'stateDir'>): SiteConfig {
  const source = describeVersion(v);
  if (checksumOf(v.document) !== v.checksum) throw new ConfigError(source, ['the stored document does not match its checksum (edited by hand, or damaged)']);
  if (v.site !== boot.site) throw new ConfigError(source, [`site: it is for site ${v.site}, this host's bootstrap file says ${boot.site}`]);
  const cfg = parseSiteConfig(v.document, source, '/');
  if (cfg.site !== boot.site) throw new ConfigError(source, [`site: the document names site ${cfg.site}, this host's bootstrap file says ${boot.site}`]);
  if (boot.keys) cfg.keys = { send: boot.keys.send, files: boot.keys.files.map((k) => ({ ...k })) };
  cfg.stateDir = boot.stateDir;
  return cfg;
}
