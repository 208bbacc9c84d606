import { EXIT } from '../exit-codes.js';
import { type ArbitratorClient, NoAnswerError, RefusedError } from './client.js';
import { HELP, type OperatorCommand } from './parse.js';
import { journalOf, renderEvents, renderJson, renderStatus } from './render.js';

export interface Outcome {
  code: number;
  /** For stdout. */
  out: string;
  /** For stderr. */
  err: string;
  /** Known after status, pause or resume: whether automatic promotion is paused. */
  paused?: boolean;
}

/** Carries out one operator command against the arbitrator; never throws for an expected failure. */
export async function execute(client: ArbitratorClient, cmd: OperatorCommand, operator: string): Promise<Outcome> {
  try {
    switch (cmd.verb) {
      case 'help':
        return { code: EXIT.OK, out: `${HELP}\n`, err: '' };
      case 'quit':
        return { code: EXIT.OK, out: '', err: '' };
      case 'status': {
        if (cmd.watch) return { code: EXIT.USAGE, out: '', err: 'status --watch redraws until Ctrl-C: run it as a one-shot command (minder command -c SITE status --watch)\n' };
        const doc = await client.summary();
        return { code: EXIT.OK, out: cmd.json ? renderJson(doc) : renderStatus(doc), err: '', paused: doc.arbitrator.paused };
      }
      case 'events': {
        if (cmd.follow) return { code: EXIT.USAGE, out: '', err: 'events --follow runs until Ctrl-C: run it as a one-shot command (minder command -c SITE events --follow)\n' };
        const doc = await client.summary();
        return { code: EXIT.OK, out: renderEvents(journalOf(doc), cmd.json), err: '', paused: doc.arbitrator.paused };
      }
      case 'drain':
      case 'undrain': {
        const r = await client.request(cmd.verb, { requestId: client.newRequestId(), operator, reason: cmd.reason, node: cmd.node });
        return answer(r);
      }
      case 'pause':
      case 'resume': {
        const r = await client.request(cmd.verb, { requestId: client.newRequestId(), operator, reason: cmd.reason });
        return { ...answer(r), ...(r.ok ? { paused: cmd.verb === 'pause' } : {}) };
      }
      case 'promote': {
        const r = await client.request('promote', {
          requestId: client.newRequestId(),
          operator,
          reason: cmd.reason,
          target: cmd.target,
          force: cmd.force,
          ...(cmd.confirmLost?.length ? { confirmLost: cmd.confirmLost } : {}),
        });
        return answer(r);
      }
      case 'withdraw': {
        const r = await client.request('withdraw', { requestId: client.newRequestId(), operator, reason: cmd.reason, decisionId: cmd.decisionId });
        return answer(r);
      }
      case 'relearned': {
        const r = await client.request('relearned', { requestId: client.newRequestId(), operator, reason: cmd.reason, force: cmd.force });
        return answer(r);
      }
      case 'bootstrap': {
        const r = await client.request('bootstrap', { requestId: client.newRequestId(), operator, reason: cmd.reason, target: cmd.target, force: cmd.force, confirm: cmd.confirm });
        return answer(r);
      }
    }
  } catch (err) {
    if (err instanceof NoAnswerError) return { code: EXIT.NO_ANSWER, out: '', err: `${err.message}\n` };
    if (err instanceof RefusedError) return { code: EXIT.REFUSED, out: '', err: `refused: ${err.message}\n` };
    return { code: EXIT.FAILURE, out: '', err: `${(err as Error).message}\n` };
  }
}

function answer(r: { ok: boolean; message: string }): Outcome {
  return r.ok ? { code: EXIT.OK, out: `${r.message}\n`, err: '' } : { code: EXIT.REFUSED, out: '', err: `refused: ${r.message}\n` };
}
