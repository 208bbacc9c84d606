import type { Argv } from 'yargs';
import { loadKeyring } from '../site/load-config.js';
import { formatDuration } from '../site/duration.js';
import { CliError, EXIT } from './exit-codes.js';
import { loadOrExplain } from './run.js';

/** `minder config check FILE`; push/show/diff against the database come with issue 6. */
export function registerConfig(y: Argv): Argv {
  return y.command('config <action>', 'Check a site config (and later: push it to the database, show, diff)', (a) =>
    a.command(
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
        const t = cfg.timings;
        const lines = [
          `site ${cfg.site}: ${cfg.parties.length} parties, data centres ${Object.entries(cfg.dataCentres).sort((x, z) => x[1].priority - z[1].priority).map(([n, d]) => `${n} (priority ${d.priority})`).join(', ')}`,
          ...cfg.parties.map((p) => `  ${p.id.padEnd(14)} ${`${p.host}:${p.port}`.padEnd(22)} ${p.dc ?? '-'}`),
          `timings: report ${formatDuration(t.reportInterval)}, ack ${formatDuration(t.ackTimeout)}, failover ${formatDuration(t.failoverPeriod)}, stale ${formatDuration(t.staleAfter)}`,
          'config OK',
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    ).demandCommand(1),
  () => {});
}
