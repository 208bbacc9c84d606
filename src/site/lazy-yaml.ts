import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);
let yamlParse: ((text: string) => unknown) | null = null;

/**
 * The yaml package's parse, loaded at its first use: its import and first parse are ~45 ms of a
 * one-shot `minder command` (docs/benchmarks.md §4), which a JSON config does without.
 */
export function parseYaml(text: string): unknown {
  yamlParse ??= (requireHere('yaml') as typeof import('yaml')).parse;
  return yamlParse(text);
}
