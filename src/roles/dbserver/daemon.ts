import type { RoleContext, RunningRole } from '../context.js';

/** Placeholder until the dbserver role lands: logs every message it is sent and acks per protocol. */
export async function startDbserver(ctx: RoleContext): Promise<RunningRole> {
  ctx.post.onMessage((m) => ctx.logger.info({ event: 'message_received', from: m.from, verb: m.verb }, `${m.verb} from ${m.from}`));
  return { stop: async () => {}, describe: () => `${ctx.self} (placeholder)` };
}
