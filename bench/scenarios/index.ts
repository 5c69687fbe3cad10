import type { Scenario } from '../harness.js';
import { bufferByTokensScenario } from './buffer-by-tokens.js';
import { redisWorkersScenario } from './redis-workers.js';

/** Every bench scenario, in the order `npm run bench` runs them. */
export const scenarios: Scenario[] = [bufferByTokensScenario, redisWorkersScenario];
