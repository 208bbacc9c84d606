import type { Argv } from 'yargs';
import { CliError, EXIT } from './exit-codes.js';
import { DEFAULT_TRIES } from './command/defaults.js';
import type { CommandArgs } from './fast-args.js';

/**
 * `minder command …`: the operator's keyboard channel to the arbitrator (docs/operations.md).
 * The session, client and prompt are loaded when the command runs, not when yargs is set up:
 * `minder command drain …` is on the operator's clock (docs/benchmarks.md §2).
 */
/** `handler` is commandMain except in tests of the parsing. */
export function registerCommand(y: Argv, handler: (a: CommandArgs) => void | Promise<void> = commandMain): Argv {
  return y.command(
    'command [words..]',
    "The operator's channel to the arbitrator: status, drain, undrain, pause, resume, promote, bootstrap (no words: an interactive prompt)",
    (a) =>
      a
        .positional('words', { type: 'string', array: true, describe: 'a command and its arguments; none: interactive prompt' })
        .option('config', { alias: 'c', type: 'string', demandOption: true, describe: 'site config file (YAML or JSON); its key files are needed' })
        .option('as', { type: 'string', default: 'command:1', describe: 'which command party to speak as (command:N); one per concurrent operator' })
        .option('json', { type: 'boolean', describe: 'status: print the stable JSON document' })
        .option('reason', { alias: 'r', type: 'string', describe: 'why (logged with your name; required with promote --force)' })
        .option('force', { type: 'boolean', describe: 'promote: waive the half-weight rule (the rest of the cluster is gone)' })
        .option('watch', { type: 'boolean', describe: 'status: redraw every 2 s until Ctrl-C (like patronictl list -W)' })
        .option('follow', { type: 'boolean', describe: "events: keep printing the arbitrator's new events until Ctrl-C" })
        .option('to', { type: 'string', describe: 'which arbitrator to speak to (arbitrator:N; with arbitrator.store etcd, any answers status and only the leader acts); default the first listed' })
        .option('tries', { type: 'number', default: DEFAULT_TRIES, describe: 'sends of a request, one ack timeout apart, before giving up' })
        .example('$0 command -c site.yaml status', 'every party at a glance')
        .example('$0 command -c site.yaml status --json', 'the same as a stable JSON document')
        .example('$0 command -c site.yaml drain dbserver:3 --reason "disk swap"', 'no new connections to dbserver:3')
        .example('$0 command -c site.yaml promote dc2 --force --reason "dc1 burned down"', "the operator's override below half")
        .example('$0 command -c site.yaml status --watch', 'the same, redrawn in place every 2 s')
        .example('$0 command -c site.yaml events --follow', "the arbitrator's decisions, drains, pause… as they happen")
        .example('$0 command -c site.yaml bootstrap dbserver:3 --force --reason "host of dbserver:1 is gone"', 'cold start without a missing node')
        .example('$0 command -c site.yaml', 'interactive prompt with history and tab completion'),
    (argv) =>
      handler({
        words: (argv.words ?? []).map(String),
        config: argv.config,
        as: argv.as,
        tries: argv.tries,
        ...(argv.json !== undefined ? { json: argv.json } : {}),
        ...(argv.to !== undefined ? { to: argv.to } : {}),
        ...(argv.reason !== undefined ? { reason: argv.reason } : {}),
        ...(argv.force !== undefined ? { force: argv.force } : {}),
        ...(argv.watch !== undefined ? { watch: argv.watch } : {}),
        ...(argv.follow !== undefined ? { follow: argv.follow } : {}),
      }),
  );
}

/** What `minder command` does with its parsed command line (from yargs or fast-args.ts). */
export async function commandMain(argv: CommandArgs): Promise<void> {
  const words = argv.words;
  const extra = [
    ...(argv.json ? ['--json'] : []),
    ...(argv.force ? ['--force'] : []),
    ...(argv.watch ? ['--watch'] : []),
    ...(argv.follow ? ['--follow'] : []),
    ...(argv.reason !== undefined ? ['--reason', argv.reason] : []),
  ];
  // msgpackr's optional native decoder (msgpackr-extract) is a shared library to load, ~8 ms and
  // ~6 MiB of a one-shot process that decodes a handful of small datagrams; its JavaScript decoder
  // reads the same bytes. Only for this process (the daemons load a native addon anyway).
  process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true';
  const [{ openSession }, { execute }, { parseWords }] = await Promise.all([import('./command/session.js'), import('./command/execute.js'), import('./command/parse.js')]);
  const session = await openSession({ config: argv.config, as: argv.as, tries: argv.tries, ...(argv.to !== undefined ? { to: argv.to } : {}) });
  try {
    if (words.length === 0) {
      if (extra.length) throw new CliError(EXIT.USAGE, `${extra[0]} needs a command (e.g. status --json)`);
      const { interactive } = await import('./command/interactive.js');
      process.exitCode = await interactive(session);
      return;
    }
    const parsed = parseWords([...words, ...extra], session.names);
    if (!parsed.ok) throw new CliError(EXIT.USAGE, parsed.error);
    const c = parsed.command;
    if ((c.verb === 'status' && c.watch) || (c.verb === 'events' && c.follow)) {
      const { follow } = await import('./command/follow.js');
      process.exitCode = await follow(session.client, c, process.stdout, process.stderr);
      return;
    }
    const r = await execute(session.client, parsed.command, session.operator);
    if (r.out) process.stdout.write(r.out);
    if (r.err) process.stderr.write(r.err.startsWith('refused') || r.code === EXIT.NO_ANSWER ? `minder: ${r.err}` : r.err);
    process.exitCode = r.code;
  } finally {
    await session.client.close();
  }
}
