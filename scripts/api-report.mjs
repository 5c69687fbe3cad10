// Runs API Extractor once per package entry point. `--local` updates the committed reports in etc/;
// without it (as in CI) a report that differs from the committed one fails the run.
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const local = process.argv.includes('--local');
const entries = { tokenbatch: 'index', 'tokenbatch-iterable': 'iterable', 'tokenbatch-openai': 'openai', 'tokenbatch-redis': 'redis', 'tokenbatch-cache-sqlite': 'cache-sqlite', 'tokenbatch-tiktoken': 'tiktoken' };

let failed = false;
for (const [reportName, entry] of Object.entries(entries)) {
  const configObjectFullPath = `${root}api-extractor.json`;
  const configObject = ExtractorConfig.loadFile(configObjectFullPath);
  const config = ExtractorConfig.prepare({
    configObjectFullPath,
    packageJsonFullPath: `${root}package.json`,
    configObject: {
      ...configObject,
      mainEntryPointFilePath: `<projectFolder>/dist/types/${entry}.d.ts`,
      apiReport: { ...configObject.apiReport, reportFileName: reportName },
    },
  });
  let warnings = 0;
  const result = Extractor.invoke(config, {
    localBuild: local,
    showVerboseMessages: false,
    // Updating the report is what --local is for: that notice is not a warning there.
    messageCallback: (message) => {
      if (local && message.messageId.startsWith('console-api-report')) message.handled = true;
      else if (message.logLevel === 'warning') warnings++;
    },
  });
  const changed = result.apiReportChanged ? ' (report changed)' : '';
  console.log(`api-extractor ${reportName}: ${result.errorCount} errors, ${warnings} warnings${changed}`);
  if (result.errorCount > 0 || warnings > 0 || (!local && !result.succeeded)) failed = true;
  if (local && changed) console.log(`  updated etc/${reportName}.api.md`);
}
if (failed) {
  console.error(local ? 'api-extractor: fix the warnings above.' : 'api-extractor: the API changed or has warnings: run `npm run api:update` and commit etc/.');
  process.exit(1);
}
