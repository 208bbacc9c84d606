import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { Argv } from 'yargs';
import type { Bootstrap } from '../site/bootstrap.js';
import { DEFAULT_BOOTSTRAP_PATH } from '../site/bootstrap.js';
import { diffConfigs } from '../site/config-change.js';
import { normaliseDocument, type PreparedDocument, prepareDocument, type StoredVersion } from '../site/config-document.js';
import { ConfigStore, ConfigStoreError } from '../site/config-store.js';
import { formatDuration } from '../site/duration.js';
import { ConfigError, loadKeyring, parseSiteConfig } from '../site/load-config.js';
import type { SiteConfig } from '../site/schema.js';
import { unifiedDiff } from '../site/text-diff.js';
import { CliError, EXIT } from './exit-codes.js';
import { loadBootstrapOrExplain, loadOrExplain } from './load.js';

/**
 * `minder config check FILE` validates a file; `push`, `show` and `diff` work on the versioned
 * site config in the database, reached as the bootstrap file says.
 */

function bootstrapPath(arg: string | undefined): string {
  return arg ?? (process.env.MINDER_BOOTSTRAP || DEFAULT_BOOTSTRAP_PATH);
}

function explainStoreError(err: unknown): never {
  if (err instanceof ConfigStoreError) {
    const lines = err.attempts.length ? err.attempts.map((a) => `  ${a.node}: ${a.reason}`) : [];
    const head = err.code === 'DB_UNREACHABLE' ? 'no config database node answered' : err.message;
    throw new CliError(err.code === 'DB_UNREACHABLE' ? EXIT.NO_ANSWER : EXIT.FAILURE, [head, ...lines].join('\n'));
  }
  throw err;
}

async function withStore<T>(boot: Bootstrap, fn: (s: ConfigStore) => Promise<T>): Promise<T> {
  try {
    return await fn(new ConfigStore(boot.database));
  } catch (err) {
    return explainStoreError(err);
  }
}

function header(v: StoredVersion): string {
  return `version ${v.version} (pushed by ${v.pushedBy || 'unknown'} at ${new Date(v.pushedAtMs).toISOString()})`;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(EXIT.USAGE, `${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function tryParse(document: string): SiteConfig | null {
  try {
    return parseSiteConfig(document, 'stored', '/');
  } catch {
    return null;
  }
}

function defaultPusher(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container's random uid): the host still says where it came from.
  }
  return `${user}@${hostname()}`.slice(0, 64);
}

function summary(cfg: SiteConfig): string[] {
  const t = cfg.timings;
  return [
    `site ${cfg.site}: ${cfg.parties.length} parties, data centres ${Object.entries(cfg.dataCentres)
      .sort((x, z) => x[1].priority - z[1].priority)
      .map(([n, d]) => `${n} (priority ${d.priority})`)
      .join(', ')}`,
    ...cfg.parties.map((p) => `  ${p.id.padEnd(14)} ${`${p.host}:${p.port}`.padEnd(22)} ${p.dc ?? '-'}`),
    `timings: report ${formatDuration(t.reportInterval)}, ack ${formatDuration(t.ackTimeout)}, failover ${formatDuration(t.failoverPeriod)}, stale ${formatDuration(t.staleAfter)}, config refresh ${formatDuration(t.configRefresh)}`,
  ];
}

const bootstrapOption = {
  alias: 'b',
  type: 'string',
  describe: `bootstrap file naming the config database (default $MINDER_BOOTSTRAP, else ${DEFAULT_BOOTSTRAP_PATH})`,
} as const;

async function push(file: string, bootArg: string | undefined, by: string | undefined): Promise<void> {
  const boot = loadBootstrapOrExplain(bootstrapPath(bootArg));
  let prepared: PreparedDocument;
  try {
    prepared = prepareDocument(readText(file), file, boot.site);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(EXIT.USAGE, err.problems.map((p) => `${err.source}: ${p}`).join('\n'));
    throw err;
  }
  const { previous, result } = await withStore(boot, async (store) => {
    const previous = await store.get();
    const result = await store.push(prepared.document, prepared.config.site, prepared.checksum, by ?? defaultPusher());
    return { previous, result };
  });
  if (result.unchanged) {
    process.stdout.write(`unchanged: version ${result.version} of site ${boot.site} already holds this document (${result.node})\n`);
    return;
  }
  const lines = [`stored site config version ${result.version} for site ${boot.site} (${result.node}${result.retries ? `, after ${result.retries} certification retries` : ''})`];
  const before = previous ? tryParse(previous.document) : null;
  if (previous && before) {
    const d = diffConfigs(before, prepared.config);
    lines.push(d.changes.length ? `changes since version ${previous.version}:` : `no effective change since version ${previous.version} (comments or layout only)`);
    for (const c of d.changes) lines.push(`  ${c}`);
  }
  lines.push('parties re-read it within timings.configRefresh; `minder config diff` shows the text');
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function show(bootArg: string | undefined, version: number | undefined, list: boolean): Promise<void> {
  const boot = loadBootstrapOrExplain(bootstrapPath(bootArg));
  if (list) {
    const all = await withStore(boot, (s) => s.list());
    if (all.length === 0) throw new CliError(EXIT.USAGE, `no site config has been pushed to ${boot.database.schema} yet: minder config push FILE`);
    const rows = all.map((v) => `${String(v.version).padStart(7)}  ${new Date(v.pushedAtMs).toISOString()}  ${v.site.padEnd(16)} ${v.checksum.slice(0, 12)}  ${v.pushedBy}`);
    process.stdout.write(`${'version'.padStart(7)}  ${'pushed at'.padEnd(24)}  ${'site'.padEnd(16)} ${'sha256'.padEnd(12)}  pushed by\n${rows.join('\n')}\n`);
    return;
  }
  const v = await withStore(boot, (s) => s.get(version));
  if (!v) {
    throw new CliError(
      EXIT.USAGE,
      version === undefined ? `no site config has been pushed to ${boot.database.schema} yet: minder config push FILE` : `version ${version} is not stored (minder config show --list)`,
    );
  }
  // Comment lines keep the output a valid site config: `show > file` round-trips.
  process.stdout.write(`# site ${v.site}, site config ${header(v)}\n# sha256 ${v.checksum}\n${v.document}`);
}

interface Side {
  label: string;
  text: string;
}

async function diff(bootArg: string | undefined, a: string | undefined, b: string | undefined): Promise<void> {
  const boot = loadBootstrapOrExplain(bootstrapPath(bootArg));
  const isVersion = (x: string) => /^[1-9][0-9]{0,9}$/.test(x);
  const fileSide = (path: string): Side => ({ label: path, text: normaliseDocument(readText(path)) });
  const sides = await withStore(boot, async (store) => {
    const version = async (n: number | undefined): Promise<Side> => {
      const v = await store.get(n);
      if (!v) throw new CliError(EXIT.USAGE, n === undefined ? 'no site config has been pushed yet' : `version ${n} is not stored (minder config show --list)`);
      return { label: header(v), text: v.document };
    };
    const side = (x: string) => (isVersion(x) ? version(Number(x)) : Promise.resolve(fileSide(x)));
    if (a !== undefined && b !== undefined) return [await side(a), await side(b)] as const;
    if (a !== undefined) return isVersion(a) ? ([await version(Number(a)), await version(undefined)] as const) : ([await version(undefined), fileSide(a)] as const);
    const newest = await store.get();
    if (!newest) throw new CliError(EXIT.USAGE, 'no site config has been pushed yet');
    const prev = await store.before(newest.version);
    if (!prev) throw new CliError(EXIT.USAGE, `only version ${newest.version} is stored: nothing to compare it with (minder config diff FILE compares a file with it)`);
    return [
      { label: header(prev), text: prev.document },
      { label: header(newest), text: newest.document },
    ] as const;
  });
  const [x, y] = sides;
  const out = unifiedDiff(x.text, y.text, x.label, y.label);
  process.stdout.write(out || `no differences between ${x.label} and ${y.label}\n`);
}

export function registerConfig(y: Argv): Argv {
  return y.command(
    'config <action>',
    'Check a site config file; push it to the database as a new version, show or diff the stored versions',
    (a) =>
      a
        .command(
          'check <file>',
          'Validate a site config and its key files; print a summary, or every problem one per line',
          (b) => b.positional('file', { type: 'string', demandOption: true }),
          (argv) => {
            const cfg = loadOrExplain(argv.file);
            try {
              loadKeyring(cfg, argv.file);
            } catch (err) {
              throw new CliError(EXIT.USAGE, (err as Error).message);
            }
            process.stdout.write(`${[...summary(cfg), 'config OK'].join('\n')}\n`);
          },
        )
        .command(
          'push <file>',
          'Validate a site config and store it in the database as the next version (nothing is stored when it is invalid)',
          (b) =>
            b
              .positional('file', { type: 'string', demandOption: true })
              .option('bootstrap', bootstrapOption)
              .option('by', { type: 'string', describe: 'who pushes, recorded with the version (default user@host)' })
              .example('$0 config push site.yaml -b /root/minder-admin.yaml', 'store site.yaml as the newest version'),
          (argv) => push(argv.file, argv.bootstrap, argv.by),
        )
        .command(
          'show',
          'Print the newest stored site config (or a given version) as YAML, with who pushed it and when',
          (b) =>
            b
              // Here --version names a stored version, not this program's.
              .version(false)
              .option('bootstrap', bootstrapOption)
              .option('version', { alias: 'V', type: 'number', describe: 'the version to print (default: the newest)' })
              .option('list', { type: 'boolean', default: false, describe: 'list the stored versions instead' })
              .example('$0 config show --version 3 > site.v3.yaml', 'fetch an older version'),
          (argv) => show(argv.bootstrap, argv.version, argv.list),
        )
        .command(
          'diff [from] [to]',
          'Unified diff of two versions (default: the newest against the one before), or of a FILE against the newest',
          (b) =>
            b
              .positional('from', { type: 'string', describe: 'a version number or a file' })
              .positional('to', { type: 'string', describe: 'a version number or a file' })
              .option('bootstrap', bootstrapOption)
              .example('$0 config diff', 'what the last push changed')
              .example('$0 config diff site.yaml', 'what pushing site.yaml would change')
              .example('$0 config diff 3 5', 'from version 3 to version 5'),
          (argv) => diff(argv.bootstrap, argv.from, argv.to),
        )
        .demandCommand(1),
    () => {},
  );
}
