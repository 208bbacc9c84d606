import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { registerCommand } from '../../src/cli/command.js';
import { type CommandArgs, fastCommandArgs, fastRunArgs, type RunArgs } from '../../src/cli/fast-args.js';
import { registerRun } from '../../src/cli/run-command.js';

/**
 * `minder run` and `minder command` lines skip yargs when they are plain (src/cli/fast-args.ts).
 * Whatever the fast parser accepts must mean exactly what yargs makes of it; whatever it is
 * unsure of it hands to yargs (null).
 */
function viaYargs(args: string[]): { run?: RunArgs; command?: CommandArgs; error?: string } {
  let got: { run?: RunArgs; command?: CommandArgs; error?: string } = {};
  let y = yargs(args)
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
  y = registerRun(y, (a) => void (got = { run: a }));
  y = registerCommand(y, (a) => void (got = { command: a }));
  try {
    void y.parse();
  } catch (err) {
    got = { error: (err as Error).message };
  }
  return got;
}

const PLAIN: string[][] = [
  ['run', '--config', '/etc/minder/site.yaml'],
  ['run', '-c', 'site.yaml', '--as', 'arbitrator:1'],
  ['run', '--bootstrap', '/etc/minder/minder.yaml'],
  ['run', '-b', '/etc/minder/minder.yaml', '--log-level', 'debug'],
  ['run', '--config=site.json', '--as=dbserver:2', '--log-level=warn'],
  ['command', '--config', 'site.yaml', 'status'],
  ['command', '-c', 'site.yaml', 'status', '--json'],
  ['command', '--config', 'site.yaml', 'drain', 'dbserver:3', '--reason', 'disk swap'],
  ['command', 'drain', 'n3', '-r', 'disk', '-c', 'site.yaml'],
  ['command', '-c', 'site.yaml', 'promote', 'dc2', '--force', '--reason', 'dc1 burned down'],
  ['command', '-c', 'site.yaml', '--as', 'command:2', '--tries', '5', 'undrain', 'dbserver:3'],
  ['command', '-c', 'site.yaml'],
  ['command', '--config', 'site.yaml', 'pause', '--reason', ''],
  ['command', '-c', 'site.yaml', '--to', 'arbitrator:2', 'status', '--json'],
];

const TO_YARGS: string[][] = [
  ['run'],
  ['run', '--help'],
  ['run', '--config', 'a', '--bootstrap', 'b'],
  ['run', '--config', 'a', '--config', 'b'],
  ['run', '--config', 'a', '--log-level', 'trace'],
  ['run', '--config', 'a', '--logLevel', 'debug'],
  ['run', '--config', 'a', 'extra'],
  ['run', '--config'],
  ['command', 'status'],
  ['command', '-c', 'site.yaml', 'drain', '007'],
  ['command', '-c', 'site.yaml', '--no-json', 'status'],
  ['command', '-c', 'site.yaml', '--tries', 'many', 'status'],
  ['command', '-c', 'site.yaml', 'drain', 'n3', '--reason', '-x'],
  ['command', '-c', 'site.yaml', '--', 'status'],
  ['command', '-c', 'site.yaml', '--verbose', 'status'],
  ['commands', '-c', 'site.yaml'],
  ['--help'],
];

describe('the yargs-free parse of plain run and command lines', () => {
  it.each(PLAIN)('takes the fast path and means what yargs means: %s', (...args) => {
    const fast = args[0] === 'run' ? { run: fastRunArgs(args) } : { command: fastCommandArgs(args) };
    expect(Object.values(fast)[0], 'fast path taken').not.toBeNull();
    expect(fast).toEqual(viaYargs(args));
  });

  it.each(TO_YARGS)('leaves anything else to yargs: %s', (...args) => {
    expect(fastRunArgs(args)).toBeNull();
    expect(fastCommandArgs(args)).toBeNull();
  });
});
