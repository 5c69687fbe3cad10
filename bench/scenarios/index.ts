import type { Scenario } from '../harness.js';
import { bufferByTokensScenario } from './buffer-by-tokens.js';
import { dedupe } from './dedupe.js';
import { embeddingsEncoding } from './embeddings-encoding.js';
import { groupingScenario } from './grouping.js';
import { processingScenario } from './processing.js';
import { redisWorkersScenario } from './redis-workers.js';
import { syncSourceScenario } from './sync-source.js';
import { telemetryOverhead } from './telemetry-overhead.js';
import { overheadScenario } from './overhead.js';
import { annDedupe } from './ann-dedupe.js';
import { packingScenario } from './packing.js';

/** Every bench scenario, in the order `npm run bench` runs them. */
export const scenarios: Scenario[] = [bufferByTokensScenario, overheadScenario, processingScenario, dedupe, groupingScenario, packingScenario, telemetryOverhead, embeddingsEncoding, annDedupe, syncSourceScenario, redisWorkersScenario];
