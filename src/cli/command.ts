import type { Argv } from 'yargs';

/** `minder command …`: the operator's keyboard channel to the arbitrator. Built by the arbitrator work (issue 4). */
export function registerCommand(y: Argv): Argv {
  return y.command('command', "The operator's channel to the arbitrator (status, drain, pause, promote)", (a) => a, () => {
    process.stderr.write('minder command: not built yet\n');
  });
}
