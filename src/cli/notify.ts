import { realpathSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { forwardNotify } from '../hook/forward.js';
import { DEFAULT_ACK_WAIT_MS, DEFAULT_HOOK_FILE, type HookSettings, HookFileError, type HookTarget, pickTarget, readHookSettings } from '../hook/hook-file.js';
import { parseNotifyArgs } from '../hook/notify-args.js';
import { localAddresses } from './identity.js';
import { partiesOfType } from '../site/load-config.js';
import type { DbserverParty, SiteConfig } from '../site/schema.js';
import { CliError, EXIT } from './exit-codes.js';
import { loadOrExplain } from './load.js';

/**
 * `minder notify …`: the wsrep_notify_cmd hook through the full CLI, for hand-run tests
 * (mariadbd should run systemd/wsrep-notify.sh, which starts the small entry src/hook/main.ts
 * instead of the whole CLI). `minder notify-setup`: writes the hook file the hook reads.
 */

/** Pulls our own options out of the argument list; everything else is Galera's. */
function splitOwn(args: readonly string[], own: readonly string[]): { mine: Map<string, string[]>; rest: string[] } {
  const mine = new Map<string, string[]>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(0, eq) : a;
    if (own.includes(key)) {
      const value = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined) throw new CliError(EXIT.USAGE, `${key} needs a value`);
      mine.set(key, [...(mine.get(key) ?? []), value]);
    } else rest.push(a);
  }
  return { mine, rest };
}

/** The hook file's content for the given dbservers of a site config. */
export function hookSettingsFor(cfg: SiteConfig, dbservers: readonly DbserverParty[], keyFile: string, ackWaitMs = DEFAULT_ACK_WAIT_MS): HookSettings {
  const key = cfg.keys.files.find((k) => k.id === cfg.keys.send);
  if (!key) throw new CliError(EXIT.USAGE, `keys.send ${cfg.keys.send} is not among keys.files`);
  return {
    site: cfg.site,
    keyFile,
    keyId: key.id,
    ackWaitMs,
    dbservers: dbservers.map((d) => ({ id: d.id, serial: Number(d.id.split(':')[1]), host: d.host, port: d.port, datadir: d.mariadb.datadir })),
  };
}

function chooseDbservers(cfg: SiteConfig, as: readonly string[]): DbserverParty[] {
  const all = partiesOfType<DbserverParty>(cfg, 'dbserver');
  if (as.length > 0) {
    return as.map((id) => {
      const d = all.find((x) => x.id === id);
      if (!d) throw new CliError(EXIT.USAGE, `--as ${id}: not a dbserver of the site config (it lists ${all.map((x) => x.id).join(', ')})`);
      return d;
    });
  }
  const here = localAddresses();
  const mine = all.filter((d) => here.has(d.host));
  if (mine.length === 0) throw new CliError(EXIT.USAGE, `no dbserver of the site config lives on this host; name them with --as dbserver:N`);
  return mine;
}

function toFileJson(s: HookSettings): string {
  const { site, keyFile, keyId, ackWaitMs, dbservers } = s;
  return `${JSON.stringify({ site, keyFile, keyId, ackWaitMs, dbservers: dbservers.map(({ id, host, port, datadir }) => ({ id, host, port, datadir })) }, null, 2)}\n`;
}

async function runNotify(args: readonly string[]): Promise<void> {
  const { mine, rest } = splitOwn(args, ['--hook-file', '--config', '--as']);
  const { body, problems } = parseNotifyArgs(rest);
  for (const p of problems) process.stderr.write(`minder notify: ${p}\n`);
  let settings: HookSettings;
  const config = mine.get('--config')?.[0];
  try {
    if (config !== undefined) {
      const cfg = loadOrExplain(config);
      const key = cfg.keys.files.find((k) => k.id === cfg.keys.send);
      settings = hookSettingsFor(cfg, chooseDbservers(cfg, mine.get('--as') ?? []), key?.path ?? '');
    } else {
      settings = readHookSettings(mine.get('--hook-file')?.[0] ?? (process.env['MINDER_NOTIFY_FILE'] || DEFAULT_HOOK_FILE));
    }
  } catch (err) {
    // Same rule as the hook: never fail mariadbd's call, say why on stderr.
    process.stderr.write(`minder notify: ${err instanceof Error ? err.message : String(err)}; not forwarded\n`);
    return;
  }
  let target: HookTarget;
  try {
    target = pickTarget(settings, process.cwd(), (p) => realpathSync(p));
  } catch (err) {
    process.stderr.write(`minder notify: ${err instanceof HookFileError ? err.message : String(err)}; not forwarded\n`);
    return;
  }
  const out = await forwardNotify({ settings, target, body });
  const line = out.result === 'error' ? `not forwarded: ${out.error}` : `${out.result} after ${out.ms} ms (${out.sends} sent)`;
  process.stderr.write(`minder notify: ${body.status} → ${target.id} at ${target.host}:${target.port}: ${line}\n`);
}

export function registerNotify(y: Argv): Argv {
  return y
    .command(
      'notify',
      'Forward a wsrep_notify_cmd call to the local dbserver (the Galera hook; mariadbd should run systemd/wsrep-notify.sh)',
      (a) =>
        a
          .strict(false)
          .usage('$0 notify [--hook-file F | --config SITE --as dbserver:N] --status S --uuid U --primary yes|no --index N [--members LIST]')
          .example('$0 notify --hook-file notify.json --status synced --uuid 0576…227 --primary yes --index 0 --members <uuid>/n1/10.0.1.11:3306', 'what mariadbd runs, by hand'),
      async () => {
        const at = process.argv.indexOf('notify');
        await runNotify(at < 0 ? [] : process.argv.slice(at + 1));
        // Always 0: mariadbd must never see the hook fail.
        process.exitCode = EXIT.OK;
      },
    )
    .command(
      'notify-setup',
      'Write the hook file that wsrep_notify_cmd reads (which dbserver to tell, where the key is)',
      (a) =>
        a
          .option('config', { alias: 'c', type: 'string', demandOption: true, describe: 'site config file' })
          .option('as', { type: 'string', array: true, describe: 'dbserver(s) to include (default: those whose host is an address of this machine)' })
          .option('key-file', { type: 'string', describe: "the hook's copy of the sending key, readable by mysql (default: the config's)" })
          .option('ack-wait-ms', { type: 'number', default: DEFAULT_ACK_WAIT_MS, describe: 'how long the hook waits for the ack' })
          .option('out', { type: 'string', describe: `write here instead of stdout (e.g. ${DEFAULT_HOOK_FILE})` }),
      (argv) => {
        const cfg = loadOrExplain(argv.config);
        const key = cfg.keys.files.find((k) => k.id === cfg.keys.send);
        const keyFile = argv.keyFile !== undefined ? resolve(argv.keyFile) : (key?.path ?? '');
        const settings = hookSettingsFor(cfg, chooseDbservers(cfg, (argv.as ?? []).map(String)), keyFile, argv.ackWaitMs);
        const text = toFileJson(settings);
        if (argv.out === undefined) process.stdout.write(text);
        else {
          try {
            writeFileSync(argv.out, text, { mode: 0o644 });
          } catch (err) {
            throw new CliError(EXIT.USAGE, `cannot write ${argv.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
          }
        }
      },
    );
}
