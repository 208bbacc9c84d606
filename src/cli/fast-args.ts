import { parseArgs } from 'node:util';
import { DEFAULT_TRIES } from './command/defaults.js';

/**
 * The two commands that are on a clock — `minder run` (a daemon keeps whatever it loaded for its
 * whole life) and `minder command` (the operator waits for it) — read their plain command lines
 * with node:util's parseArgs instead of loading yargs (~95 ms of CPU and ~3.5 MiB resident that
 * a daemon would keep: docs/benchmarks.md §4). Anything that is not plainly one of the forms
 * below — --help, an unknown or repeated option, a missing value, a --no-… negation, a word that
 * yargs would read as a number — returns null, and yargs parses it with its usual help and
 * errors. test/unit/cli-fast-args.test.ts holds both parsers to the same result.
 */

export interface RunArgs {
  config?: string;
  bootstrap?: string;
  as?: string;
  logLevel?: string;
}

export interface CommandArgs {
  words: string[];
  config: string;
  as: string;
  json?: boolean;
  reason?: string;
  force?: boolean;
  watch?: boolean;
  follow?: boolean;
  tries: number;
  /** Which arbitrator to speak to (several with the etcd store); default the first listed. */
  to?: string;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function strictParse(args: string[], options: Options, positionals: boolean) {
  if (args.includes('--')) return null;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals, tokens: true });
  } catch {
    return null;
  }
  // Repeated options: yargs makes an array of them (and then refuses it); leave that to yargs.
  const tokens = (parsed.tokens ?? []) as ReadonlyArray<{ kind: string; name?: string }>;
  const names = tokens.filter((t) => t.kind === 'option').map((t) => t.name);
  if (new Set(names).size !== names.length) return null;
  return parsed;
}

/** `run --config FILE | --bootstrap FILE [--as PARTY] [--log-level LEVEL]`, else null. */
export function fastRunArgs(args: readonly string[]): RunArgs | null {
  if (args[0] !== 'run') return null;
  const p = strictParse(args.slice(1), { config: { type: 'string', short: 'c' }, bootstrap: { type: 'string', short: 'b' }, as: { type: 'string' }, 'log-level': { type: 'string' } }, false);
  if (!p) return null;
  const v = p.values as { config?: string; bootstrap?: string; as?: string; 'log-level'?: string };
  if ((v.config === undefined) === (v.bootstrap === undefined)) return null;
  const level = v['log-level'];
  if (level !== undefined && !LOG_LEVELS.includes(level)) return null;
  return {
    ...(v.config !== undefined ? { config: v.config } : {}),
    ...(v.bootstrap !== undefined ? { bootstrap: v.bootstrap } : {}),
    ...(v.as !== undefined ? { as: v.as } : {}),
    ...(level !== undefined ? { logLevel: level } : {}),
  };
}

/** yargs reads a positional that looks like a number as one (`007` → 7); such lines go to yargs. */
const NUMBERISH = /^[-+]?(\d|\.\d)|^0x/i;

/** `command [WORDS…] --config FILE [--as command:N] [--to arbitrator:N] [--json] [--reason TEXT] [--force] [--watch] [--follow] [--tries N]`, else null. */
export function fastCommandArgs(args: readonly string[]): CommandArgs | null {
  if (args[0] !== 'command') return null;
  const p = strictParse(
    args.slice(1),
    {
      config: { type: 'string', short: 'c' },
      as: { type: 'string' },
      json: { type: 'boolean' },
      reason: { type: 'string', short: 'r' },
      force: { type: 'boolean' },
      watch: { type: 'boolean' },
      follow: { type: 'boolean' },
      tries: { type: 'string' },
      to: { type: 'string' },
    },
    true,
  );
  if (!p) return null;
  const v = p.values as { config?: string; as?: string; json?: boolean; reason?: string; force?: boolean; watch?: boolean; follow?: boolean; tries?: string; to?: string };
  if (v.config === undefined) return null;
  if (p.positionals.some((w) => NUMBERISH.test(w))) return null;
  let tries = DEFAULT_TRIES;
  if (v.tries !== undefined) {
    if (!/^\d+$/.test(v.tries)) return null;
    tries = Number(v.tries);
  }
  return {
    words: p.positionals,
    config: v.config,
    as: v.as ?? 'command:1',
    ...(v.json !== undefined ? { json: v.json } : {}),
    ...(v.reason !== undefined ? { reason: v.reason } : {}),
    ...(v.force !== undefined ? { force: v.force } : {}),
    ...(v.watch !== undefined ? { watch: v.watch } : {}),
    ...(v.follow !== undefined ? { follow: v.follow } : {}),
    ...(v.to !== undefined ? { to: v.to } : {}),
    tries,
  };
}
