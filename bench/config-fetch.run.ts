import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { measureConfigFetch, summarize, writeResults } from './config-fetch.js';

// Not a test: the config-fetch benchmark's entry (bench/config-fetch.vitest.config.ts). Run with
// npm run build; flock /tmp/minder-lab.lock npx vitest run -c bench/config-fetch.vitest.config.ts
it('measures what reading and pushing the site config costs on a real Galera lab', async () => {
  const result = await measureConfigFetch(Number(process.env['CONFIG_FETCH_ROUNDS'] ?? 20));
  writeResults(result, fileURLToPath(new URL('./config-fetch.results.json', import.meta.url)));
  console.log(`\n${summarize(result)}\n`);
  expect(result.samples).toHaveLength(4);
});
