#!/usr/bin/env node
import { forwardNotify } from './forward.js';
import { realpathSync } from 'node:fs';
import { DEFAULT_HOOK_FILE, HookFileError, type HookSettings, type HookTarget, pickTarget, readHookSettings } from './hook-file.js';
import { parseNotifyArgs } from './notify-args.js';

/**
 * wsrep_notify_cmd entry point, run by mariadbd (as its own user) on every Galera state change:
 *   node dist/src/hook/main.js --status synced --uuid … --primary yes --index 0 --members …
 * Forwards the arguments to the local dbserver and exits 0 whatever happens: mariadbd waits for
 * the hook, and a failing hook must never slow or stop the database. Problems go to stderr,
 * which mariadbd writes to its error log. The hook file comes from $MINDER_NOTIFY_FILE or
 * /etc/minder/notify.json.
 */
async function main(argv: string[]): Promise<void> {
  const path = process.env['MINDER_NOTIFY_FILE'] || DEFAULT_HOOK_FILE;
  const { body, problems } = parseNotifyArgs(argv);
  for (const p of problems) process.stderr.write(`minder-notify: ${p}\n`);
  let settings: HookSettings;
  let target: HookTarget;
  try {
    settings = readHookSettings(path);
    target = pickTarget(settings, process.cwd(), (p) => realpathSync(p));
  } catch (err) {
    process.stderr.write(`minder-notify: ${err instanceof HookFileError ? err.message : String(err)}; ${body.status} not forwarded\n`);
    return;
  }
  const out = await forwardNotify({ settings, target, body });
  if (out.result === 'no_ack') {
    process.stderr.write(`minder-notify: no ack from ${target.id} at ${target.host}:${target.port} within ${settings.ackWaitMs} ms (is it running?); ${body.status} sent ${out.sends} times\n`);
  } else if (out.result === 'error') {
    process.stderr.write(`minder-notify: ${body.status} not forwarded: ${out.error}\n`);
  }
}

main(process.argv.slice(2))
  .catch((err: unknown) => process.stderr.write(`minder-notify: unexpected: ${(err as Error).message}\n`))
  .finally(() => {
    process.exitCode = 0;
  });
