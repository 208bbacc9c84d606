import { type Logger, pino } from 'pino';

/**
 * What happened in one simulated run, in order, for a failing seed's report. Tracing is off in
 * the fast runs (a failing seed is replayed with it on: the run is deterministic), so the cost
 * of a line is paid only when someone will read it.
 */
export class Trace {
  readonly lines: string[] = [];

  constructor(
    readonly enabled: boolean,
    private readonly t0: number,
    private readonly now: () => number,
  ) {}

  add(who: string, text: string): void {
    if (!this.enabled) return;
    this.lines.push(`${stamp(this.now() - this.t0)} ${who.padEnd(13)} ${text}`);
  }

  /** A pino logger whose lines (the cores' `log` effects, the post office's drops) land here. */
  logger(who: string): Logger {
    if (!this.enabled) return SILENT;
    const stream = {
      write: (line: string) => {
        const o = JSON.parse(line) as { level?: number; event?: string; msg?: string; reason?: string };
        // Debug chatter (interval reports, ignored timers) would drown the decisions.
        if ((o.level ?? 30) < 30) return;
        this.add(who, `[${o.event ?? 'log'}] ${o.msg ?? ''}`);
      },
    };
    return pino({ level: 'info', base: null, timestamp: false }, stream);
  }
}

const SILENT = pino({ level: 'silent' });

export function stamp(ms: number): string {
  return `+${(ms / 1000).toFixed(3).padStart(8)}s`;
}
