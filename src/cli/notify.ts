import type { Argv } from 'yargs';

/** `minder notify …`: the wsrep_notify_cmd hook. Built by the dbserver work (issue 3). */
export function registerNotify(y: Argv): Argv {
  return y.command('notify', 'Forward a wsrep_notify_cmd call to the local dbserver (the Galera hook)', (a) => a.strict(false), () => {
    process.stderr.write('minder notify: not built yet\n');
  });
}
