import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MinderSite } from './minder-site.js';
import { HOOK_JS } from './repo.js';

/**
 * The wsrep_notify_cmd hook as the lab installs it: a script mariadbd runs (as mysql) that execs
 * the compiled hook with the hook file named by environment. Until the hook file exists — the
 * site is configured after the lab is up — the script exits at once, so mariadbd's bring-up is as
 * fast as without a hook.
 */
export class LabHook {
  readonly dir: string;
  readonly hookFile: string;
  readonly script: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'minder-hook-'));
    chmodSync(this.dir, 0o755);
    this.hookFile = join(this.dir, 'notify.json');
    this.script = join(this.dir, 'wsrep-notify.sh');
    writeFileSync(this.script, `#!/bin/sh\n[ -f '${this.hookFile}' ] || exit 0\nMINDER_NOTIFY_FILE='${this.hookFile}' exec '${process.execPath}' '${HOOK_JS}' "$@"\n`, { mode: 0o755 });
  }

  /** What `minder notify-setup` writes: which dbserver each node's hook tells, and the key. */
  configure(site: MinderSite, nodes: ReadonlyArray<{ address: string; datadir: string }>): void {
    writeFileSync(
      this.hookFile,
      JSON.stringify({
        site: site.o.site ?? 'lab',
        keyFile: site.keyPath,
        keyId: 1,
        ackWaitMs: 300,
        dbservers: nodes.map((n, i) => ({ id: `dbserver:${i + 1}`, host: n.address, port: 4801, datadir: n.datadir })),
      }),
      { mode: 0o644 },
    );
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
