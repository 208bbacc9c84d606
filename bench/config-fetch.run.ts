import { expect, it } from 'vitest';
import { measureConfigFetch, summarize } from './config-fetch.js';
import { writeResult } from './results.js';

// Not a test: the config-fetch benchmark's entry (vitest's bench project: npm run bench:config-fetch). Run with
// npm run build; flock /tmp/minder-lab.lock npx vitest run --project bench bench/config-fetch.run.ts
it('measures what reading and pushing the site config costs on a real Galera lab', async () => {
  const result = await measureConfigFetch(Number(process.env['CONFIG_FETCH_ROUNDS'] ?? 20));
  console.log(`results: ${writeResult('config-fetch', result)}`);
  console.log(`\n${summarize(result)}\n`);
  expect(result.samples).toHaveLength(4);
});
