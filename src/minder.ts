#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CliError, EXIT } from './cli/exit-codes.js';

// Only what the named command needs is loaded (docs/benchmarks.md §4): every module a daemon
// loads stays resident for its whole life, and `minder command` runs on the operator's clock.
// So the subcommands' modules are imported when their command is named, and their heavy parts
// (SQLite, mysql2, a role's daemon) only when the command runs.

const EPILOG = `Exit codes:
  0  success                      4  the UDP address cannot be bound
  1  failure while running        5  the arbitrator/dbserver/config database did not answer
  2  bad command line or config   6  the operator's request was refused
  3  the state file is unusable

Docs: README.md, docs/protocol.md, docs/configuration.md`;

function registerRun(y: Argv): Argv {
  return y.command(
    'run',
    'Run this host\'s long-lived party (arbitrator, dbserver or dbclient) from the site config',
    (a) =>
      a
        .option('config', { alias: 'c', type: 'string', describe: 'site config file (YAML or JSON): a file-only site, never re-read' })
        .option('bootstrap', { alias: 'b', type: 'string', describe: 'this host\'s bootstrap file (e.g. /etc/minder/minder.yaml): the site config comes from the database, else from the local copy' })
        .conflicts('config', 'bootstrap')
        .check((a) => {
          if (a.config === undefined && a.bootstrap === undefined) throw new CliError(EXIT.USAGE, 'give --config FILE (the whole site config in a file) or --bootstrap FILE (the site config from the database)');
          return true;
        })
        .option('as', { type: 'string', describe: 'which party to be, e.g. dbserver:2 (default: $MINDER_AS, else the party whose host is an address of this machine)' })
        .option('log-level', { type: 'string', choices: ['debug', 'info', 'warn', 'error'], describe: 'log level (default info, or $MINDER_LOG_LEVEL)' })
        .example('$0 run --bootstrap /etc/minder/minder.yaml', 'start this host\'s party with the site config from the database')
        .example('$0 run --config /etc/minder/site.yaml', 'start whichever party this host is in the config')
        .example('$0 run -c site.yaml --as arbitrator:1', 'start the arbitrator explicitly'),
    async (argv) => {
      const as = argv.as ?? (process.env.MINDER_AS || undefined);
      const { runParty } = await import('./cli/run.js');
      const party = await runParty({
        ...(argv.config !== undefined ? { config: argv.config } : {}),
        ...(argv.bootstrap !== undefined ? { bootstrap: argv.bootstrap } : {}),
        ...(as ? { as } : {}),
        ...(argv.logLevel ? { logLevel: argv.logLevel } : {}),
      });
      const onSignal = () => void party.stop();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      process.exitCode = await party.done;
    },
  );
}

function registerKeygen(y: Argv): Argv {
  return y.command(
    'keygen <file>',
    'Write a new random site key (32 bytes, hex) to FILE, readable by its owner only',
    (a) => a.positional('file', { type: 'string', demandOption: true }),
    async (argv) => {
      const { writeNewKeyFile } = await import('./protocol/keys.js');
      try {
        writeNewKeyFile(argv.file);
      } catch (err) {
        throw new CliError(EXIT.USAGE, `cannot write ${argv.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (an existing key is never overwritten)`);
      }
      process.stdout.write(`wrote a new site key to ${argv.file} (mode 0600); copy it to every party, keeping the mode\n`);
    },
  );
}

type Register = (y: Argv) => Argv;
const notify = async (): Promise<Register> => (await import('./cli/notify.js')).registerNotify;
const REGISTER: Record<string, () => Promise<Register>> = {
  run: async () => registerRun,
  notify,
  'notify-setup': notify,
  command: async () => (await import('./cli/command.js')).registerCommand,
  config: async () => (await import('./cli/config.js')).registerConfig,
  keygen: async () => registerKeygen,
};

/** The named command's registration alone; all of them for help, a typo or no command at all. */
async function registrations(argv: readonly string[]): Promise<Register[]> {
  const first = argv[0];
  const loaders = first !== undefined && Object.hasOwn(REGISTER, first) ? [REGISTER[first] as () => Promise<Register>] : [...new Set(Object.values(REGISTER))];
  return [...new Set(await Promise.all(loaders.map((l) => l())))];
}

export async function main(argv: string[]): Promise<void> {
  let y = yargs(argv)
    .scriptName('minder')
    .usage('$0 <command> [options]\n\ngalera-minder keeps a two-DC MariaDB Galera site serving, safely: one arbitrator decides which half becomes primary after a split, dbservers watch mariadbd, dbclients steer the load balancer.')
    .strict()
    .demandCommand(1, 'Name a command: run, notify, command, config or keygen.')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .epilog(EPILOG)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`minder: ${msg}\nRun 'minder --help' for usage.\n`);
      process.exit(EXIT.USAGE);
    });
  for (const register of await registrations(argv)) y = register(y);
  await y.parseAsync();
}

main(hideBin(process.argv)).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`minder: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`minder: unexpected failure: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT.FAILURE);
});
