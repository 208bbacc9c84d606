import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs: every line names its `event`, and decisions carry their reason.
 * Secrets never reach a log: the redaction below is a second line of defence, not the first.
 */
/** pino level → syslog priority: journald reads a leading `<N>` as the line's priority. */
const SYSLOG_PRIORITY: Record<string, number> = { '10': 7, '20': 7, '30': 6, '40': 4, '50': 3, '60': 2 };

function journalPrefix(line: string): string {
  const m = /"level":(\d+)/.exec(line);
  return `<${SYSLOG_PRIORITY[m?.[1] ?? '30'] ?? 6}>${line}`;
}

export function createLogger(opts: { name: string; level?: string; destination?: number; format?: 'json' | 'journal' }): Logger {
  const format = opts.format ?? (process.env.MINDER_LOG_FORMAT === 'journal' ? 'journal' : 'json');
  return pino(
    {
      ...(format === 'journal' ? { hooks: { streamWrite: journalPrefix } } : {}),
      name: opts.name,
      level: opts.level ?? process.env.MINDER_LOG_LEVEL ?? 'info',
      base: { party: opts.name, pid: process.pid },
      redact: { paths: ['password', '*.password', 'secret', '*.secret', 'key', '*.key'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: opts.destination ?? 1, sync: true }),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
