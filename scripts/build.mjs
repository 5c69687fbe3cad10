// Builds dist/ from src/ file by file (no bundling), so every module exists once and classes such as
// the errors keep one identity across entry points: dist/esm for import, dist/cjs for require.
// Declarations come from tsc (tsconfig.build.json) into dist/types.
import { build } from 'esbuild';
import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entryPoints = readdirSync(`${root}src`, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts'))
  .map((file) => `${root}src/${file}`);

rmSync(`${root}dist`, { recursive: true, force: true });
const common = { entryPoints, outbase: `${root}src`, bundle: false, platform: 'neutral', target: 'node20', sourcemap: true, logLevel: 'warning' };
await build({ ...common, format: 'esm', outdir: `${root}dist/esm` });
// The command-line tool runs as ESM only: no CommonJS copy of src/cli.
await build({ ...common, entryPoints: entryPoints.filter((file) => !file.includes(`${root}src/cli/`)), format: 'cjs', outdir: `${root}dist/cjs` });
mkdirSync(`${root}dist/cjs`, { recursive: true });
writeFileSync(`${root}dist/cjs/package.json`, '{ "type": "commonjs" }\n');
// The command-line tool (package.json `bin`): esbuild keeps its `#!/usr/bin/env node` line; make it executable.
chmodSync(`${root}dist/esm/cli/main.js`, 0o755);
