import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { KeyError } from '../protocol/keys.js';
import { assertPrivateFile } from './key-files.js';
import { ConfigError } from './load-config.js';
import { duration, keysSchema, siteNameSchema } from './schema.js';
import { parseYaml } from './lazy-yaml.js';

/**
 * The per-host bootstrap file (`/etc/minder/minder.yaml`): who this host is and how to reach the
 * config database. Everything else (parties, timings, data centres) comes from the database, so
 * this file is the only thing that differs between hosts and rarely changes.
 */

export const DEFAULT_BOOTSTRAP_PATH = '/etc/minder/minder.yaml';

/** One Galera node to read the site config from: TCP or a unix socket. */
export interface DbEndpoint {
  /** As written in the file, for logs and error lines. */
  label: string;
  host?: string;
  port?: number;
  socketPath?: string;
}

export interface BootstrapDatabase {
  nodes: DbEndpoint[];
  user: string;
  passwordFile: string;
  schema: string;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
}

export interface Bootstrap {
  /** The file it was read from (absolute). */
  path: string;
  as?: string;
  site: string;
  database: BootstrapDatabase;
  /** This host's key files; when given they replace the site config's `keys`. */
  keys?: { send: number; files: Array<{ id: number; path: string }> };
  /** Where this host's state files (and so the local copy of the site config) live. */
  stateDir: string;
}

const MAX_NODES = 64;

const bootstrapSchema = z
  .object({
    as: z
      .string()
      .regex(/^(arbitrator|dbserver|dbclient):[1-9][0-9]{0,5}$/, 'write type:serial, e.g. dbserver:2')
      .optional(),
    site: siteNameSchema,
    database: z
      .object({
        nodes: z.array(z.string().min(1).max(300)).min(1).max(MAX_NODES),
        user: z.string().min(1).max(80),
        passwordFile: z.string().min(1),
        // Interpolated into SQL as an identifier, so it is held to a safe alphabet.
        schema: z
          .string()
          .regex(/^[A-Za-z0-9_]{1,64}$/, 'a schema name is 1-64 letters, digits or _')
          .default('minder'),
        connectTimeout: duration('2s'),
        queryTimeout: duration('5s'),
      })
      .strict(),
    keys: keysSchema.optional(),
    stateDir: z.string().min(1).default('/var/lib/minder'),
  })
  .strict();

/** "10.0.1.11:3306", "db1" (port 3306), "[fd00::1]:3306", or an absolute unix socket path. */
export function parseEndpoint(text: string): DbEndpoint | string {
  const t = text.trim();
  if (t.startsWith('/')) return { label: t, socketPath: t };
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(t);
  const plain = /^([A-Za-z0-9_.-]+)(?::(\d+))?$/.exec(t);
  const m = v6 ?? plain;
  if (!m) return `"${text}" is not host, host:port, [ipv6]:port or an absolute socket path`;
  const port = m[2] === undefined ? 3306 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `"${text}": port ${m[2]} is out of range`;
  return { label: t, host: m[1] as string, port };
}

function problemsOf(err: z.ZodError): string[] {
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

/** Parses and checks a bootstrap document; relative paths resolve against baseDir. */
export function parseBootstrap(text: string, source: string, baseDir: string): Bootstrap {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(source, [`not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
  const r = bootstrapSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(source, problemsOf(r.error));
  const b = r.data;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const problems: string[] = [];
  const nodes: DbEndpoint[] = [];
  b.database.nodes.forEach((n, i) => {
    const e = parseEndpoint(n);
    if (typeof e === 'string') problems.push(`database.nodes[${i}]: ${e}`);
    else if (nodes.some((x) => x.label === e.label)) problems.push(`database.nodes[${i}]: ${e.label} is listed twice`);
    else nodes.push(e);
  });
  if (b.database.connectTimeout < 100) problems.push('database.connectTimeout: at least 100ms');
  if (b.database.queryTimeout < 100) problems.push('database.queryTimeout: at least 100ms');
  if (b.keys) {
    if (!b.keys.files.some((k) => k.id === b.keys?.send)) problems.push(`keys.send: key id ${b.keys.send} is not among keys.files`);
    const ids = new Set<number>();
    b.keys.files.forEach((k, i) => {
      if (ids.has(k.id)) problems.push(`keys.files[${i}].id: duplicate key id ${k.id}`);
      ids.add(k.id);
    });
  }
  if (problems.length) throw new ConfigError(source, problems);
  return {
    path: resolve(source),
    ...(b.as !== undefined ? { as: b.as } : {}),
    site: b.site,
    database: {
      nodes,
      user: b.database.user,
      passwordFile: abs(b.database.passwordFile),
      schema: b.database.schema,
      connectTimeoutMs: b.database.connectTimeout,
      queryTimeoutMs: b.database.queryTimeout,
    },
    ...(b.keys ? { keys: { send: b.keys.send, files: b.keys.files.map((k) => ({ id: k.id, path: abs(k.path) })) } } : {}),
    stateDir: abs(b.stateDir),
  };
}

/** Reads, parses and checks the bootstrap file, including that its password file is private. */
export function loadBootstrapFile(path: string): Bootstrap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  const boot = parseBootstrap(text, path, dirname(resolve(path)));
  readDbPassword(boot.database, path);
  return boot;
}

/**
 * The database password, read afresh at every connect so that a rotated password file works
 * without a restart. Refused when others can read it, like the site key.
 */
export function readDbPassword(db: BootstrapDatabase, source = 'bootstrap file'): string {
  try {
    assertPrivateFile(db.passwordFile, 'password file');
    const text = readFileSync(db.passwordFile, 'utf8');
    // One line; a trailing newline from `echo secret > file` is not part of the password.
    return text.replace(/\r?\n$/, '');
  } catch (err) {
    if (err instanceof KeyError) throw new ConfigError(source, [`database.passwordFile: ${err.message}`]);
    throw new ConfigError(source, [`database.passwordFile: ${db.passwordFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
}
