// Builds dist/ from src/ file by file (no bundling), so every module exists once and classes such as
// the errors keep one identity across entry points: dist/esm for import, dist/cjs for require.
// Declarations come from tsc (tsconfig.build.json) into dist/types.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entryPoints = readdirSync(`${root}src`, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts'))
  .map((file) => `${root}src/${file}`);

rmSync(`${root}dist`, { recursive: true, force: true });
const common = { entryPoints, outbase: `${root}src`, bundle: false, platform: 'neutral', target: 'node20', sourcemap: true, logLevel: 'warning' };
await build({ ...common, format: 'esm', outdir: `${root}dist/esm` });
await build({ ...common, format: 'cjs', outdir: `${root}dist/cjs` });
mkdirSync(`${root}dist/cjs`, { recursive: true });
writeFileSync(`${root}dist/cjs/package.json`, '{ "type": "commonjs" }\n');
