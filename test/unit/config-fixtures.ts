import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { parse, stringify } from 'yaml';
import { checksumOf, type StoredVersion } from '../../src/site/config-document.js';
import type { FetchResult } from '../../src/site/config-store.js';

/** The shipped 2+2 example: site shop-prod, arbitrator:1 at 10.0.9.5:4800, absolute paths. */
export const EXAMPLE = readFileSync(new URL('../../config/site.example.yaml', import.meta.url), 'utf8');

export type Doc = Record<string, unknown> & { parties: Array<Record<string, unknown>>; timings: Record<string, string> };

/** The example with `fn` applied, as YAML text. */
export function edited(fn: (d: Doc) => void = () => {}): string {
  const d = parse(EXAMPLE) as Doc;
  fn(d);
  return stringify(d);
}

export function stored(document: string, version: number, site = 'shop-prod'): StoredVersion {
  return { version, site, document, checksum: checksumOf(document), pushedBy: 'dba@test', pushedAtMs: 1_700_000_000_000 + version };
}

/** A fetcher that answers whatever the test puts in `next`, and counts how often it is asked. */
export class FakeFetcher {
  calls = 0;
  constructor(public next: FetchResult) {}
  async fetchNewest(): Promise<FetchResult> {
    this.calls++;
    return this.next;
  }
  ok(v: StoredVersion, node = '127.0.0.11:3306'): this {
    this.next = { kind: 'ok', version: v, node, skipped: [] };
    return this;
  }
  down(reason = '127.0.0.11:3306: connection refused (mariadbd down?)'): this {
    this.next = { kind: 'unreachable', reason, attempts: [{ node: '127.0.0.11:3306', reason: 'connection refused (mariadbd down?)' }] };
    return this;
  }
}

export interface CapturedLogger {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  events(name: string): Array<Record<string, unknown>>;
}

export function captureLogger(): CapturedLogger {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines, events: (name) => lines.filter((l) => l['event'] === name) };
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
