import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lineLogger } from '../../src/log-sink.js';

describe('lineLogger (the one-shot command’s logger, without pino)', () => {
  it('writes one pino-shaped JSON line per entry at or above its level, nothing below', () => {
    const lines: string[] = [];
    const log = lineLogger({ name: 'command:1', level: 'error', write: (l) => lines.push(l) });
    log.warn({ event: 'datagram_dropped', reason: 'bad_mac' }, 'dropped a datagram: bad_mac');
    expect(lines).toEqual([]);
    log.error({ event: 'role_error', verb: 'ack' }, 'handling ack failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    const entry = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 50, party: 'command:1', name: 'command:1', event: 'role_error', verb: 'ack', msg: 'handling ack failed' });
    expect(Number.isNaN(Date.parse(String(entry['time'])))).toBe(false);
  });

  it('takes warn at MINDER_LOG_LEVEL=warn, and silent or an unknown level as documented', () => {
    const lines: string[] = [];
    lineLogger({ name: 'command:1', level: 'warn', write: (l) => lines.push(l) }).warn({ event: 'x' }, 'x');
    lineLogger({ name: 'command:1', level: 'silent', write: (l) => lines.push(l) }).error({ event: 'y' }, 'y');
    // An unknown level reads as info: warnings and errors are written.
    lineLogger({ name: 'command:1', level: 'loud', write: (l) => lines.push(l) }).warn({ event: 'z' }, 'z');
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['x', 'z']);
  });

  it('still writes a line when a field cannot be serialised', () => {
    const lines: string[] = [];
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    lineLogger({ name: 'command:1', level: 'error', write: (l) => lines.push(l) }).error({ cyclic }, 'failed');
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 50, msg: 'failed' });
  });
});

/** Static imports of a TypeScript file, `import type` left out (tsc erases those). */
function runtimeImports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);
}

describe('`minder command` loads only what it uses (docs/benchmarks.md §4: it runs on the operator’s clock)', () => {
  it('has no pino, yaml, yargs, SQLite, mysql2 or HTTP server in the static import graph of its session and commands', () => {
    const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
    const packages = new Set<string>();
    const seen = new Set<string>();
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of runtimeImports(file)) {
        if (spec.startsWith('node:')) continue;
        if (!spec.startsWith('.')) packages.add(spec);
        else walk(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      }
    };
    for (const f of ['cli/command.ts', 'cli/command/session.ts', 'cli/command/execute.ts', 'cli/command/parse.ts']) walk(join(src, f));
    // yaml is loaded at the first YAML document (src/site/lazy-yaml.ts): a JSON config never loads it.
    expect([...packages].sort()).toEqual(['msgpackr', 'zod']);
    // The status document's schema (roles/arbitrator/summary-doc.ts) is the one role module it needs.
    expect([...seen].filter((f) => /\/src\/(http|metrics|state)\/|\/src\/roles\/(host|index|context)\.ts$|\/daemon\.ts$|\/core\.ts$/.test(f))).toEqual([]);
  });
});
