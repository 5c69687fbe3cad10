import type { Scenario } from '../harness.js';
import { bufferByTokensScenario } from './buffer-by-tokens.js';
import { embeddingsEncoding } from './embeddings-encoding.js';
import { telemetryOverhead } from './telemetry-overhead.js';

/** Every bench scenario, in the order `npm run bench` runs them. */
export const scenarios: Scenario[] = [bufferByTokensScenario, embeddingsEncoding, telemetryOverhead];
