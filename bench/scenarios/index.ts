import type { Scenario } from '../harness.js';
import { adaptiveScenario, budgetScenario, priorityScenario } from './adaptive.js';
import { bufferByTokensScenario } from './buffer-by-tokens.js';
import { counting } from './counting.js';
import { dedupe } from './dedupe.js';
import { dedupeSafety } from './dedupe-safety.js';
import { embeddingsEncoding } from './embeddings-encoding.js';
import { groupingScenario } from './grouping.js';
import { openAIBatchScenario } from './openai-batch.js';
import { processingScenario } from './processing.js';
import { redisFleetScenario } from './redis-fleet.js';
import { redisWorkersScenario } from './redis-workers.js';
import { poisonScenario } from './poison.js';
import { resultCacheScenario } from './result-cache.js';
import { syncSourceScenario } from './sync-source.js';
import { telemetryOverhead } from './telemetry-overhead.js';
import { overheadScenario } from './overhead.js';
import { annDedupe } from './ann-dedupe.js';
import { packingScenario } from './packing.js';

/** Every bench scenario, in the order `npm run bench` runs them. */
export const scenarios: Scenario[] = [
  bufferByTokensScenario,
  counting,
  overheadScenario,
  processingScenario,
  dedupe,
  dedupeSafety,
  resultCacheScenario,
  annDedupe,
  groupingScenario,
  packingScenario,
  telemetryOverhead,
  embeddingsEncoding,
  syncSourceScenario,
  poisonScenario,
  adaptiveScenario,
  budgetScenario,
  priorityScenario,
  redisWorkersScenario,
  redisFleetScenario,
  openAIBatchScenario,
];
