import type { Argv } from 'yargs';
import { CliError, EXIT } from './exit-codes.js';
import type { RunArgs } from './fast-args.js';

/** `minder run`'s options for yargs; `handler` is runMain except in tests of the parsing. */
export function registerRun(y: Argv, handler: (a: RunArgs) => void | Promise<void> = runMain): Argv {
  return y.command(
    'run',
    "Run this host's long-lived party (arbitrator, dbserver or dbclient) from the site config",
    (a) =>
      a
        .option('config', { alias: 'c', type: 'string', describe: 'site config file (YAML or JSON): a file-only site, never re-read' })
        .option('bootstrap', { alias: 'b', type: 'string', describe: "this host's bootstrap file (e.g. /etc/minder/minder.yaml): the site config comes from the database, else from the local copy" })
        .conflicts('config', 'bootstrap')
        .check((a) => {
          if (a.config === undefined && a.bootstrap === undefined)
            throw new CliError(EXIT.USAGE, 'give --config FILE (the whole site config in a file) or --bootstrap FILE (the site config from the database)');
          return true;
        })
        .option('as', { type: 'string', describe: 'which party to be, e.g. dbserver:2 (default: $MINDER_AS, else the party whose host is an address of this machine)' })
        .option('log-level', { type: 'string', choices: ['debug', 'info', 'warn', 'error'], describe: 'log level (default info, or $MINDER_LOG_LEVEL)' })
        .example('$0 run --bootstrap /etc/minder/minder.yaml', "start this host's party with the site config from the database")
        .example('$0 run --config /etc/minder/site.yaml', 'start whichever party this host is in the config')
        .example('$0 run -c site.yaml --as arbitrator:1', 'start the arbitrator explicitly'),
    (argv) =>
      handler({
        ...(argv.config !== undefined ? { config: argv.config } : {}),
        ...(argv.bootstrap !== undefined ? { bootstrap: argv.bootstrap } : {}),
        ...(argv.as !== undefined ? { as: argv.as } : {}),
        ...(argv.logLevel !== undefined ? { logLevel: argv.logLevel } : {}),
      }),
  );
}

/** What `minder run` does with its parsed command line (from yargs or fast-args.ts). */
export async function runMain(argv: RunArgs): Promise<void> {
  const as = argv.as ?? (process.env.MINDER_AS || undefined);
  const { runParty } = await import('./run.js');
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
}
