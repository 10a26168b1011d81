// Bundles the dashboard (web/) into dist/web/ with esbuild: one app.js, one app.css, the page and
// the offline base layer (world-atlas country outlines, fetched by the page rather than inlined,
// so the script stays small). Everything comes from npm; nothing is loaded from a CDN. No source
// maps: they would publish the dashboard's sources (and local build paths) to anyone.
// It is the build's step after tsc (`npm run build`, `npm start`), so it also makes the package's
// bin (dist/cli/main.js) executable again: tsc writes it without the execute bit.
// Usage: node scripts/build-web.mjs [--watch] [--outdir <folder>] (default dist/web)
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdirFlag = process.argv.indexOf('--outdir');
const outdir = outdirFlag > 0 && process.argv[outdirFlag + 1] ? resolve(process.argv[outdirFlag + 1]) : join(root, 'dist', 'web');
const require = createRequire(import.meta.url);

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const options = {
  // zod-setup runs before app (index.html loads it first): web/zod.setup.ts says why.
  entryPoints: { 'zod-setup': join(root, 'web', 'zod.setup.ts'), app: join(root, 'web', 'main.ts') },
  outdir,
  bundle: true,
  format: 'esm',
  // geotiff.js loads its decoders (zstd, LERC, ...) with dynamic imports: they become chunks fetched on need.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
  // Output paths in the metafile are relative to this.
  absWorkingDir: root,
};

// tsc's output: dist/scripts/bin.executable.js (from scripts/bin.executable.ts).
const binStep = join(root, 'dist', 'scripts', 'bin.executable.js');
if (existsSync(binStep)) {
  const { makeBinsExecutable } = await import(pathToFileURL(binStep).href);
  makeBinsExecutable(root);
} else {
  console.warn('dist/scripts/bin.executable.js is missing (run tsc first): the CLI bin was not made executable');
}

copyFileSync(join(root, 'web', 'index.html'), join(outdir, 'index.html'));
copyFileSync(require.resolve('world-atlas/countries-110m.json'), join(outdir, 'countries-110m.json'));

if (process.argv.includes('--watch')) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log(`watching web/ → ${outdir}`);
} else {
  const result = await esbuild.build(options);
  const sizes = Object.entries(result.metafile.outputs)
    .filter(([file]) => !file.endsWith('.txt'))
    .map(([file]) => `${file.split('/').at(-1)} ${(statSync(resolve(root, file)).size / 1024).toFixed(0)} KiB`);
  console.log(`dashboard built into ${outdir}: ${sizes.join(', ')}`);
}
