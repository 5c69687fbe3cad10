import { writeFileSync } from 'node:fs';
import { formatResult, meetsGoal, type BenchResult, type Ratio } from './harness.js';
import { runIsolated } from './isolate.js';
import { scenarios } from './scenarios/index.js';

/**
 * `npm run bench [-- --only NAME[,NAME...]] [--quick] [--json [FILE]]`: runs the scenarios one after the
 * other; a scenario that fails (a throw, an unhandled rejection, an `'error'` event nobody listens
 * to, such as an ECONNRESET on loopback) is reported and the run goes on. `--json` also writes
 * every tracked ratio with its goal, and every table, to FILE (default `bench/results.json`);
 * `node scripts/bench-table.mjs` regenerates the README's benchmark table from it.
 */
const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const json = jsonAt >= 0;
const jsonFile = json && args[jsonAt + 1] !== undefined && !args[jsonAt + 1]!.startsWith('--') ? args[jsonAt + 1]! : 'bench/results.json';
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;

const wanted = only?.split(',');
const selected = scenarios.filter((scenario) => wanted === undefined || wanted.includes(scenario.name));
if (selected.length === 0) {
  console.error(`no scenario named ${only}; have: ${scenarios.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const results: BenchResult[] = [];
const failures: { scenario: string; error: string }[] = [];
for (const scenario of selected) {
  const outcome = await runIsolated(scenario.name, () => scenario.run({ quick }));
  if (outcome.ok) {
    results.push(outcome.result);
    console.log(`${formatResult(outcome.result)}\n`);
  } else {
    failures.push({ scenario: scenario.name, error: outcome.error });
    console.error(`## ${scenario.name}: FAILED, the run goes on\n  ${outcome.error.split('\n').join('\n  ')}\n`);
  }
}
const ratios: (Ratio & { scenario: string; met: boolean })[] = results.flatMap((result) =>
  (result.ratios ?? []).map((ratio) => ({ ...ratio, better: ratio.better ?? 'higher', scenario: result.scenario, met: meetsGoal(ratio) })),
);
if (ratios.length > 0) {
  console.log('## Tracked ratios');
  for (const ratio of ratios)
    console.log(`${ratio.met ? 'met    ' : 'NOT met'}  ${ratio.id}: ${ratio.value.toFixed(3)} (goal ${ratio.better === 'higher' ? '≥' : '≤'} ${ratio.goal})  ${ratio.label}`);
}
if (json) {
  const document = { node: process.version, date: new Date().toISOString(), quick, ratios, failures, results };
  writeFileSync(jsonFile, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`\nwrote ${jsonFile} (${ratios.length} ratios, ${results.length} scenarios, ${failures.length} failed)`);
}
// Scenarios may leave handles (servers, sockets) behind after a failure: exit explicitly.
process.exit(failures.length > 0 ? 1 : 0);
