import { spawnSync } from 'node:child_process';
import { MINDER_JS } from './repo.js';

/** The compiled entrypoint, as systemd and the hook run it (the lab suite builds first). */
export const MINDER = MINDER_JS;

export function minderSync(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(process.execPath, [MINDER, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 20_000, env: { ...process.env, ...opts.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
