import type { Clock } from '../../correspondents/clock.js';
import { realClock } from '../../correspondents/clock.js';
import { EXIT } from '../exit-codes.js';
import { type ArbitratorClient, NoAnswerError } from './client.js';
import type { OperatorCommand } from './parse.js';
import { type JournalLine, journalOf, renderEvents, renderStatus } from './render.js';

export const WATCH_EVERY_MS = 2000;
export const FOLLOW_EVERY_MS = 1000;

/** Clear the screen and go home: `status --watch` redraws in place on a terminal. */
const CLEAR = '\x1b[H\x1b[2J';

interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
}

/**
 * Lines of `next` not yet printed: the journal is ordered by time, so everything after the last
 * printed entry's time, plus entries at that same time not printed yet.
 */
export function newLines(printed: { at: number; seen: Set<string> }, next: readonly JournalLine[]): JournalLine[] {
  const key = (j: JournalLine) => `${j.at} ${j.event} ${j.text}`;
  return next.filter((j) => j.at > printed.at || (j.at === printed.at && !printed.seen.has(key(j))));
}

function remember(printed: { at: number; seen: Set<string> }, lines: readonly JournalLine[]): void {
  for (const j of lines) {
    if (j.at > printed.at) {
      printed.at = j.at;
      printed.seen = new Set();
    }
    if (j.at === printed.at) printed.seen.add(`${j.at} ${j.event} ${j.text}`);
  }
}

/**
 * `status --watch` (redraws every 2 s, like `patronictl list -W`) and `events --follow` (prints
 * the arbitrator's journal as it grows, polling it once a second over the command channel, so
 * it works with or without the arbitrator's HTTP). Runs until Ctrl-C (exit 0) or `stop`. An
 * arbitrator that stops answering is said once, and the loop keeps trying.
 */
export async function follow(client: ArbitratorClient, cmd: OperatorCommand, out: Out, err: Out, opts: { clock?: Clock; stop?: AbortSignal; rounds?: number } = {}): Promise<number> {
  const clock = opts.clock ?? realClock;
  const watching = cmd.verb === 'status';
  const json = cmd.verb === 'events' ? cmd.json : false;
  const every = watching ? WATCH_EVERY_MS : FOLLOW_EVERY_MS;
  let stopped = opts.stop?.aborted ?? false;
  const onSigint = () => {
    stopped = true;
  };
  process.once('SIGINT', onSigint);
  opts.stop?.addEventListener('abort', onSigint);
  const printed = { at: Number.NEGATIVE_INFINITY, seen: new Set<string>() };
  let unanswered = false;
  let rounds = 0;
  try {
    while (!stopped && (opts.rounds === undefined || rounds < opts.rounds)) {
      rounds++;
      try {
        const doc = await client.summary();
        if (unanswered) err.write('the arbitrator answers again\n');
        unanswered = false;
        if (watching) {
          const stamp = `every ${every / 1000} s · ${new Date(clock.now())
            .toISOString()
            .replace('T', ' ')
            .replace(/\.\d+Z$/, 'Z')} · Ctrl-C to stop\n`;
          out.write(`${out.isTTY ? CLEAR : ''}${stamp}${renderStatus(doc)}${out.isTTY ? '' : '\n'}`);
        } else {
          const fresh = newLines(printed, journalOf(doc));
          remember(printed, fresh);
          out.write(renderEvents(fresh, json));
        }
      } catch (e) {
        if (!(e instanceof NoAnswerError)) throw e;
        if (!unanswered) err.write(`minder: ${e.message}; still trying (Ctrl-C to stop)\n`);
        unanswered = true;
      }
      if (stopped) break;
      await new Promise<void>((r) => {
        const t = clock.setTimer(every, r);
        opts.stop?.addEventListener('abort', () => {
          t.cancel();
          r();
        });
      });
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return EXIT.OK;
}
