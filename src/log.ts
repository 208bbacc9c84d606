import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs: every line names its `event`, and decisions carry their reason.
 * Secrets never reach a log: the redaction below is a second line of defence, not the first.
 */
export function createLogger(opts: { name: string; level?: string; destination?: number }): Logger {
  return pino(
    {
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
