import type { Scenario } from '../harness.js';
import { embeddingsEncoding } from './embeddings-encoding.js';

/** Every bench scenario, in the order `npm run bench` runs them. */
export const scenarios: Scenario[] = [embeddingsEncoding];
