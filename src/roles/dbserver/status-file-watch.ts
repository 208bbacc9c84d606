import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';

/**
 * Watches mariadbd's wsrep_status_file as a doorbell: mariadbd rewrites it on every Galera state
 * change (not on writes), at the moment of the change, so the dbserver reads at once without
 * waiting for the wsrep_notify_cmd hook's process to start. The file itself is not read (it may
 * not be readable by the minder user); its directory must be searchable. Anything that goes wrong
 * here only costs speed: the hook and the periodic reading still report every change.
 */
export class StatusFileWatch {
  private watcher: FSWatcher | null = null;
  private path: string | null = null;

  constructor(
    private readonly onChange: () => void,
    private readonly logger: Pick<Logger, 'info' | 'warn'>,
  ) {}

  /** The path mariadbd reports now (null: none); a new path replaces the old watch. */
  set(path: string | null): void {
    if (path === this.path) return;
    this.close();
    this.path = path;
    if (path === null) return;
    const name = basename(path);
    try {
      this.watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        if (file === name) this.onChange();
      });
      this.watcher.on('error', (err) => this.failed(path, err));
      this.logger.info({ event: 'status_file_watched', path }, `watching mariadbd's wsrep_status_file ${path}: state changes are read at once`);
    } catch (err) {
      this.failed(path, err);
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private failed(path: string, err: unknown): void {
    this.close();
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    this.logger.warn(
      { event: 'status_file_unwatchable', path, code },
      `cannot watch mariadbd's wsrep_status_file ${path} (${code}): state changes come from the hook and the periodic reading only; make its directory searchable by the minder user`,
    );
  }
}
