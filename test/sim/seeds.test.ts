import { seedSuite } from './seed-suite.js';

// SIM_SEEDS (default 10,000) seeds on every core; SIM_SEED=n with replay.test.ts replays one.
seedSuite();
