#!/usr/bin/env node
import type { Argv } from 'yargs';
import { EXIT, MinderError } from './errors.js';
import { fastCommandArgs, fastRunArgs } from './cli/fast-args.js';
import { registerRun, runMain } from './cli/run-command.js';

// Only what the named command needs is loaded (docs/benchmarks.md §4): every module a daemon
// loads stays resident for its whole life, and `minder command` runs on the operator's clock.
// So the subcommands' modules are imported when their command is named, and their heavy parts
// (SQLite, mysql2, a role's daemon) only when the command runs. A plain `run` or `command`
// line does not load yargs at all (src/cli/fast-args.ts); everything else goes through yargs.

const EPILOG = `Exit codes:
  0  success                      4  the UDP address cannot be bound
  1  failure while running        5  the arbitrator/dbserver/config database did not answer
  2  bad command line or config   6  the operator's request was refused
  3  the state file is unusable

Docs: README.md, docs/protocol.md, docs/configuration.md`;

function registerKeygen(y: Argv): Argv {
  return y.command(
    'keygen <file>',
    "Write a new random site key (32 bytes, hex) to FILE, mode 0600, owned by the daemons' user (as root: minder)",
    (a) =>
      a
        .positional('file', { type: 'string', demandOption: true })
        .option('owner', { type: 'string', describe: 'who owns the key (default: minder when run as root, else you)' })
        .example('$0 keygen /etc/minder/site.key', 'as root: a key the minder units can read'),
    async (argv) => {
      const { keygen } = await import('./cli/keygen.js');
      process.stdout.write(keygen(argv.file, argv.owner));
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
  const run = fastRunArgs(argv);
  if (run) return runMain(run);
  const command = fastCommandArgs(argv);
  if (command) return (await import('./cli/command.js')).commandMain(command);
  const { default: yargs } = await import('yargs');
  let y = yargs(argv)
    .scriptName('minder')
    .usage(
      '$0 <command> [options]\n\ngalera-minder keeps a two-DC MariaDB Galera site serving, safely: one arbitrator decides which half becomes primary after a split, dbservers watch mariadbd, dbclients steer the load balancer.',
    )
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

main(process.argv.slice(2)).catch((err: unknown) => {
  // Any MinderError ends the process with the exit code its code maps to (src/errors.ts).
  if (err instanceof MinderError) {
    process.stderr.write(`minder: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`minder: unexpected failure: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT.FAILURE);
});
