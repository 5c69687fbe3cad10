import type { Scenario } from '../harness.js';
import { dedupe } from './dedupe.js';

/** Every bench scenario, in the order `npm run bench` runs them. */
export const scenarios: Scenario[] = [dedupe];
