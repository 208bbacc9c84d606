import { chmodSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MinderSite } from './minder-site.js';
import { SHELL_HOOK } from './repo.js';

/**
 * The wsrep_notify_cmd hook as the lab installs it: a script mariadbd runs (as mysql) that runs
 * the shipped shell hook with the socket of the node's own dbserver. Several mariadbd share this
 * host, each with its own dbserver, so the script picks the socket by its working directory
 * (mariadbd runs the hook in its datadir). Until the site is configured the script exits at once,
 * so mariadbd's bring-up is as fast as without a hook.
 */
export class LabHook {
  readonly dir: string;
  readonly map: string;
  readonly script: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'minder-hook-'));
    chmodSync(this.dir, 0o755);
    this.map = join(this.dir, 'sockets.sh');
    this.script = join(this.dir, 'wsrep-notify.sh');
    writeFileSync(this.script, labHookScript(this.map, `exec ${SHELL_HOOK} "$sock" "$@"`), { mode: 0o755 });
  }

  /** Which dbserver's socket each node's hook writes to. */
  configure(site: MinderSite, nodes: ReadonlyArray<{ datadir: string }>): void {
    writeSocketMap(
      this.map,
      nodes.map((n, i) => ({ datadir: n.datadir, socket: site.hookSocketOf(i) })),
    );
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A hook script that sources `map` (a `case $PWD` that sets $sock) and then runs `call`. */
export function labHookScript(map: string, call: string, before: string[] = [], after: string[] = []): string {
  return ['#!/bin/sh', `[ -f ${map} ] || exit 0`, `. ${map}`, ...before, call, ...after, ''].join('\n');
}

/** The datadir → socket map the lab's hook script sources (both the path and its real path). */
export function writeSocketMap(map: string, entries: ReadonlyArray<{ datadir: string; socket: string }>): void {
  const arms = entries.map((e) => {
    const paths = [...new Set([e.datadir.replace(/\/$/, ''), realpathSync(e.datadir)])];
    return `  ${paths.map((p) => `${p}|${p}/`).join('|')}) sock=${e.socket} ;;`;
  });
  writeFileSync(map, ['case $PWD in', ...arms, '  *) echo "lab hook: no dbserver for $PWD" >&2; exit 0 ;;', 'esac', ''].join('\n'), { mode: 0o644 });
}
