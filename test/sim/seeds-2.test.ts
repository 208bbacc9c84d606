import { seedSuite } from './seed-suite.js';

// A quarter of the CI seeds (SIM_SEEDS, default 10,000): four files, so that vitest uses every core.
seedSuite(2, 4);
