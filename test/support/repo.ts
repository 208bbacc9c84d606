import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, whether this runs from test/ (vitest) or from dist/test/ (compiled demo). */
export const REPO = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('/dist')) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root above test/support');
    dir = up;
  }
  return dir;
})();

export const MINDER_JS = join(REPO, 'dist/src/minder.js');
export const HOOK_JS = join(REPO, 'dist/src/hook/main.js');
/** The shell hook mariadbd runs (writes one line to the dbserver's unix socket). */
export const SHELL_HOOK = join(REPO, 'systemd/wsrep-notify.sh');
