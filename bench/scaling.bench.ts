/**
 * Scaling (issue 9): a source of at least 3 GB of pixels (etopo5 resampled to 28000² float32,
 * stored tiled and compressed so it is cheap to keep and upload; the pipeline still reads and
 * writes every pixel) against one with ten times fewer pixels (8854²), on the Functions route and
 * on the worker route. Prints the time ratio (target ≤ 10.5), the host's and worker's peak memory
 * (target ≤ 1.5 GiB, flat) and the scratch folder's peak size (target: at most one copy of the
 * source, none when read in place).
 *
 *   npm run build && node dist/bench/scaling.bench.js [--rounds 1] [--large 28000] [--small 8854] [--routes copy,worker]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { writeScalingSource } from './bench.rasters.js';
import { median, mib, parseEnvPairs, seconds, spreadOfTimes, summarizeTime, waitForIdle } from './bench.support.js';
import { routes, timePipeline, type BenchRoute, type PipelineRun } from './ingest.bench.js';

async function main(): Promise<void> {
  const options = new Command()
    .option('--rounds <n>', 'rounds of each size on each route', '1')
    .option('--large <pixels>', 'edge of the large source (28000 → 3.14 GB float32)', '28000')
    .option('--small <pixels>', 'edge of the small source (8854 → ten times fewer pixels)', '8854')
    .option('--routes <list>', `comma list of ${routes.join(', ')}`, 'copy,worker')
    .option('--env <KEY=VALUE...>', 'extra settings for the host (e.g. DURABLE_MAX_CONCURRENT_ACTIVITIES=1)', [])
    .option('--data <dir>', 'folder for the generated sources (kept between runs when given)')
    .parse()
    .opts<{ rounds: string; large: string; small: string; routes: string; env: string[]; data?: string }>();
  const rounds = Math.max(1, Number(options.rounds));
  const chosen = options.routes.split(',').filter((route): route is BenchRoute => (routes as readonly string[]).includes(route));
  const extraEnv: Record<string, string> = parseEnvPairs(options.env);
  if (options.env.length) console.log(`extra host settings: ${options.env.join(' ')}`);
  const work = mkdtempSync(join(tmpdir(), 'scaling-bench-'));
  try {
    const dataDir = options.data ?? join(work, 'data');
    console.log('Preparing the sources…');
    const small = await writeScalingSource(Number(options.small), dataDir);
    const large = await writeScalingSource(Number(options.large), dataDir);
    const results = new Map<string, PipelineRun[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const route of chosen) {
        for (const source of [small, large]) {
          const state = await waitForIdle();
          const result = await timePipeline(source, route, join(work, `run-${route}-${source.name}`), extraEnv);
          results.set(`${route} ${source.name}`, [...(results.get(`${route} ${source.name}`) ?? []), result]);
          console.log(`round ${round} ${route} ${source.name} (${state}): ${seconds(result.ms)}, host peak ${mib(result.hostPeak)}${result.workerPeak ? `, worker peak ${mib(result.workerPeak)}` : ''}, scratch peak ${mib(result.scratchPeak)}, ${result.tiles} tiles`);
        }
      }
    }
    console.log(`\n${small.description}\n${large.description}\nmedians (min–max) of ${rounds} round(s):`);
    for (const route of chosen) {
      const smallRuns = results.get(`${route} ${small.name}`)!;
      const largeRuns = results.get(`${route} ${large.name}`)!;
      const ratio = median(largeRuns.map((run) => run.ms)) / median(smallRuns.map((run) => run.ms));
      console.log(`  ${route}: small ${spreadOfTimes(smallRuns.map((run) => run.ms))}, large ${spreadOfTimes(largeRuns.map((run) => run.ms))}, ratio ${ratio.toFixed(2)} (target ≤ 10.5)`);
      for (const [name, runs] of [['small', smallRuns], ['large', largeRuns]] as const) {
        const workerPeak = Math.max(...runs.map((run) => run.workerPeak ?? 0));
        console.log(`    ${name}: host peak ${mib(Math.max(...runs.map((run) => run.hostPeak)))}${workerPeak ? `, worker peak ${mib(workerPeak)}` : ''}, scratch peak ${mib(Math.max(...runs.map((run) => run.scratchPeak)))}`);
      }
      console.log(`    where the large runs' time went:`);
      for (const line of summarizeTime(largeRuns.map((run) => run.output))) console.log(line);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
