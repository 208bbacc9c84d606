// Process-wide safety net: whatever happens to the test process (normal exit, Ctrl-C, SIGTERM
// from a runner), no mariadbd, iptables rule or temp dir of ours may outlive it.

export interface Closable {
  /** Graceful, bounded teardown. */
  close(): Promise<void>;
  /** Last-resort teardown for process 'exit', where only synchronous work runs. */
  closeSync(): void;
}

const open = new Set<Closable>();
let installed = false;
let signalled = false;

function onExit(): void {
  for (const lab of [...open]) {
    try {
      lab.closeSync();
    } catch {
      // exit path: nothing useful to do with an error here
    }
  }
  open.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  const code = 128 + (signal === 'SIGINT' ? 2 : 15);
  if (signalled) {
    // Second signal: the user is impatient; do the sync teardown and go.
    onExit();
    process.exit(code);
  }
  signalled = true;
  const all = [...open].map((lab) => lab.close());
  const bound = setTimeout(() => {
    onExit();
    process.exit(code);
  }, 30_000);
  void Promise.allSettled(all).then(() => {
    clearTimeout(bound);
    onExit();
    process.exit(code);
  });
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

// Uninstalled when no lab is open, so we never swallow a Ctrl-C meant for someone else.
function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', onExit);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

export function track(lab: Closable): void {
  open.add(lab);
  install();
}

export function untrack(lab: Closable): void {
  open.delete(lab);
  if (open.size === 0 && !signalled) uninstall();
}
