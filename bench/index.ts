import { formatResult, type BenchResult } from './harness.js';
import { scenarios } from './scenarios/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;

const selected = scenarios.filter((scenario) => only === undefined || scenario.name === only);
if (selected.length === 0) {
  console.error(`no scenario named ${only}; have: ${scenarios.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const results: BenchResult[] = [];
for (const scenario of selected) {
  const result = await scenario.run({ quick });
  results.push(result);
  if (!json) console.log(`${formatResult(result)}\n`);
}
if (json) console.log(JSON.stringify({ node: process.version, quick, results }, null, 2));
