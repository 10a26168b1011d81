/**
 * Where one small source's cost goes, phase by phase, in counters that do not depend on the
 * machine's load: the CPU seconds of this process (every thread: GDAL's too) and of the
 * inspection children, Azurite's CPU, and the storage requests each phase makes (counted from
 * Node's `http.client.request.start` diagnostics channel: every SDK request, blob or table),
 * with the reads that fetched a blob or row the same phase had already fetched.
 *
 * The activities run in this process one after another, exactly as a single-tile job runs them
 * (submit → validate → tile COG with statistics and thumbnail → item, or those three as one
 * activity → finalize → collection mosaic → job record), each source into the same collection, so phases never overlap and each
 * counter belongs to one phase. The Durable Functions round trips of the submission go to a stub
 * of the extension's HTTP API in this process and are counted, not timed; the orchestration's own
 * storage traffic is `bench/batch.scale.bench.ts`'s subject.
 *
 *   npm run bench:phases -- [--sources 20] [--size 128] [--steps merged|separate] [--trace]
 *
 * `--steps merged` (the default) runs a job of version 1.7: validation, the tile and its item in
 * one activity (`validateAndCreateTile`); `separate` runs them as jobs of 1.6 and older do.
 *
 * The sources are windows of one small scene, so they overlap (as `bench/batch.bench.ts`'s do):
 * the mosaic phase here is its cost where sources are dense. `bench/mosaic.scale.bench.ts` measures
 * it against the size of the collection.
 */
import { subscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { DurableClient } from 'durable-functions';
import gdal from 'gdal-async';
import { startAzurite } from '../host/azurite.js';
import { fetchDebianRasters } from '../scripts/debian.rasters.js';
import { createActivityDependencies } from '../src/activities/activity.dependencies.js';
import { createBuildCollectionMosaic } from '../src/activities/collection.mosaic.js';
import { createFinalizeCollection } from '../src/activities/collection.finalize.js';
import { createRecordJob } from '../src/activities/job.record.js';
import { createCreateTileCog } from '../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../src/activities/tile.item.register.js';
import { createValidateRaster } from '../src/activities/validate.raster.js';
import { createValidateAndCreateTile } from '../src/activities/validate.create.tile.js';
import { createCreateAndRegisterTile } from '../src/activities/tile.create.register.js';
import { createCheckQualityGates } from '../src/activities/quality.gates.js';
import { readIngestSettings, readWorkerSettings } from '../src/config.js';
import { deriveOutputLocation } from '../src/jobs/job.id.js';
import { JobIndex } from '../src/jobs/job.index.js';
import { submitJob } from '../src/jobs/job.submit.js';
import { RetiredOutputs } from '../src/jobs/retired.outputs.js';
import type { IngestInput, RegisteredItem } from '../src/pipeline/contracts.js';
import { deriveItemId } from '../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../src/pipeline/options.js';
import { planTiles } from '../src/raster/tile.plan.js';
import { AzureBlobStore } from '../src/storage/azure.blob.store.js';
import { cpuSecondsOf, loadLine, median, runIfMain } from './bench.support.js';

export const phases = [
  'submit',
  'validate',
  'plan',
  'tile COG + statistics + thumbnail',
  'item',
  'validate + tile COG + statistics + thumbnail + item',
  'finalize (records, catalogs)',
  'mosaic',
  'job record',
] as const;
export type Phase = (typeof phases)[number];

/** One storage request, as the SDK sent it. */
export interface SentRequest {
  method: string;
  service: 'blob' | 'blob (GDAL)' | 'table' | 'queue' | 'durable' | 'other';
  path: string;
}

/** Counts what this process sends over HTTP from the moment it is created, by the port it goes to. */
export function watchRequests(ports: Record<number, SentRequest['service']>): { take(): SentRequest[] } {
  let sent: SentRequest[] = [];
  subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: { method: string; path: string; host: string; getHeader(name: string): unknown } };
    const port = Number(String(request.getHeader('host') ?? '').split(':')[1] ?? 0);
    sent.push({ method: request.method, service: ports[port] ?? 'other', path: decodeURIComponent(request.path.split('?')[0]!) });
  });
  // fetch (undici) has its own channel: the Durable HTTP API is asked through it.
  subscribe('undici:request:create', (message) => {
    const { request } = message as { request: { method: string; origin: string; path: string } };
    const port = Number(new URL(request.origin).port);
    sent.push({ method: request.method, service: ports[port] ?? 'other', path: decodeURIComponent(request.path.split('?')[0]!) });
  });
  return {
    take() {
      const taken = sent;
      sent = [];
      return taken;
    },
  };
}

/**
 * GDAL reads tile COGs over HTTP itself (/vsicurl, libcurl), past Node's channels: its requests are
 * counted from its debug log (`CPL_DEBUG=VSICURL`), which this sends to `logPath`. `take()` returns
 * those made since the last call.
 */
export function watchGdalRequests(logPath: string): () => SentRequest[] {
  writeFileSync(logPath, '');
  gdal.config.set('CPL_DEBUG', 'VSICURL');
  gdal.config.set('CPL_LOG', logPath);
  let seen = 0;
  return () => {
    const all = [...readFileSync(logPath, 'utf8').matchAll(/^VSICURL: (?:GetFileSize\((http[^?)]*)|Downloading (\d+-\d+) \((http[^?)]*))/gm)].map((match) => ({
      method: match[1] ? 'HEAD' : 'GET',
      service: 'blob (GDAL)' as const,
      path: `${new URL((match[1] ?? match[3])!).pathname}${match[2] ? ` bytes ${match[2]}` : ''}`,
    }));
    const taken = all.slice(seen);
    seen = all.length;
    return taken;
  };
}

/** Reads of a resource this phase had already read (same method and path). */
function repeatedReads(sent: readonly SentRequest[]): number {
  const seen = new Set<string>();
  let repeated = 0;
  for (const request of sent) {
    if (request.method !== 'GET' && request.method !== 'HEAD') continue;
    const key = `${request.service} ${request.method} ${request.path}`;
    if (seen.has(key)) repeated++;
    seen.add(key);
  }
  return repeated;
}

/** CPU seconds of this process's children (the inspection processes), live ones only. */
function childrenCpuSeconds(): number {
  let total = 0;
  for (const task of readdirSync('/proc/self/task')) {
    let children: string;
    try {
      children = readFileSync(`/proc/self/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const pid of children.trim().split(/\s+/).filter(Boolean)) total += cpuSecondsOf(Number(pid)) ?? 0;
  }
  return total;
}

interface PhaseSample {
  cpuMs: number;
  azuriteCpuMs: number;
  requests: SentRequest[];
}

export interface PhaseRow {
  phase: Phase;
  cpuMs: number;
  azuriteCpuMs: number;
  requests: number;
  byKind: string;
  repeated: number;
}

/** Median per source of each phase the samples have, and the request mix of the median source. */
export function summarize(samples: ReadonlyArray<Map<Phase, PhaseSample>>): PhaseRow[] {
  return phases.filter((phase) => samples.some((sample) => sample.has(phase))).map((phase) => {
    const of = samples.map((sample) => sample.get(phase) ?? { cpuMs: 0, azuriteCpuMs: 0, requests: [] });
    const counts = of.map((sample) => sample.requests.length);
    const middle = of.find((sample) => sample.requests.length === median(counts)) ?? of[0]!;
    const kinds = new Map<string, number>();
    for (const request of middle.requests) kinds.set(`${request.service} ${request.method}`, (kinds.get(`${request.service} ${request.method}`) ?? 0) + 1);
    return {
      phase,
      cpuMs: median(of.map((sample) => sample.cpuMs)),
      azuriteCpuMs: median(of.map((sample) => sample.azuriteCpuMs)),
      requests: median(counts),
      byKind: [...kinds].map(([kind, count]) => `${count} ${kind}`).join(', '),
      repeated: median(of.map((sample) => repeatedReads(sample.requests))),
    };
  });
}

export function formatTable(rows: readonly PhaseRow[]): string[] {
  const total = rows.reduce((sum, row) => ({ cpu: sum.cpu + row.cpuMs, azurite: sum.azurite + row.azuriteCpuMs, requests: sum.requests + row.requests, repeated: sum.repeated + row.repeated }), { cpu: 0, azurite: 0, requests: 0, repeated: 0 });
  return [
    '| phase | app CPU (ms) | Azurite CPU (ms) | storage requests | of which repeated reads | request mix (median source) |',
    '|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row.phase} | ${row.cpuMs.toFixed(0)} | ${row.azuriteCpuMs.toFixed(0)} | ${row.requests} | ${row.repeated} | ${row.byKind || '—'} |`),
    `| **per source** | **${total.cpu.toFixed(0)}** | **${total.azurite.toFixed(0)}** | **${total.requests}** | **${total.repeated}** | |`,
  ];
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--sources <n>', 'small sources ingested one after another (medians over them)', '20')
    .option('--size <pixels>', 'edge of each source', '128')
    .option('--steps <steps>', 'merged: validation, tile and item in one activity (version 1.7); separate: as older versions', 'merged')
    .option('--trace', 'also list every request of the last source, phase by phase')
    .parse()
    .opts<{ sources: string; size: string; steps: string; trace?: boolean }>();
  if (options.steps !== 'merged' && options.steps !== 'separate') throw new Error('--steps is merged or separate');
  const mergedSteps = options.steps === 'merged';
  const count = Number(options.sources);
  const size = Number(options.size);

  const fetched = await fetchDebianRasters();
  if ('unavailable' in fetched) throw new Error(fetched.unavailable);
  const work = mkdtempSync(join(tmpdir(), 'phase-profile-'));
  const scene = gdal.open(fetched.paths.landsat);
  const files: string[] = [];
  let seed = 42;
  const next = (bound: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % bound;
  };
  mkdirSync(join(work, 'sources'));
  for (let i = 0; i < count; i++) {
    // The windows bench/batch.bench.ts cuts (the same sequence): inside the scene, overlapping.
    const x = next(scene.rasterSize.x - size);
    const y = next(scene.rasterSize.y - size);
    const path = join(work, 'sources', `scene-${String(i).padStart(4, '0')}.tif`);
    (await gdal.translateAsync(path, scene, ['-srcwin', String(x), String(y), String(size), String(size)])).close();
    files.push(path);
  }

  const azurite = await startAzurite({ location: join(work, 'azurite') });
  const durableApi = createServer((request, response) => {
    // The extension's status endpoint: no instance exists yet.
    response.statusCode = 404;
    response.end();
    request.resume();
  });
  await new Promise<void>((resolve) => durableApi.listen(0, '127.0.0.1', resolve));
  const durablePort = (durableApi.address() as { port: number }).port;
  const requests = watchRequests({ [azurite.ports.blob]: 'blob', [azurite.ports.table]: 'table', [azurite.ports.queue]: 'queue', [durablePort]: 'durable' });
  let startNewCalls = 0;
  const client = {
    clientData: { rpcBaseUrl: `http://127.0.0.1:${durablePort}/`, managementUrls: { id: 'INSTANCEID', statusQueryGetUri: `http://127.0.0.1:${durablePort}/instances/INSTANCEID` } },
    startNew: async (_name: string, started: { instanceId: string }) => {
      startNewCalls++;
      return started.instanceId;
    },
  } as unknown as DurableClient;

  const env = { AzureWebJobsStorage: azurite.connectionString };
  const store = AzureBlobStore.fromEnvironment(env);
  const jobs = JobIndex.fromEnvironment(env);
  const settings = { ...readIngestSettings({}), scratchDir: join(work, 'scratch') };
  const deps = createActivityDependencies({ store, jobs, retired: RetiredOutputs.fromEnvironment(env), settings });
  const takeGdalRequests = watchGdalRequests(join(work, 'gdal.log'));
  const validate = createValidateRaster(deps);
  const createTileCog = createCreateTileCog(deps);
  const registerTileItem = createRegisterTileItem(deps);
  const validateAndCreateTile = createValidateAndCreateTile({ validateRaster: validate, createAndRegisterTile: createCreateAndRegisterTile({ createTileCog, registerTileItem }), checkQualityGates: createCheckQualityGates(deps) });
  const finalize = createFinalizeCollection(deps);
  const mosaic = createBuildCollectionMosaic(deps);
  const recordJob = createRecordJob(deps);
  const collection = 'profile';
  const ingestOptions = ingestOptionsSchema.parse({});

  try {
    for (const file of files) await store.uploadFile({ container: 'incoming', name: `profile/${file.split('/').pop()}` }, file, 'image/tiff');
    // Warm: the inspection children start, tables and containers are created, GDAL loads its drivers.
    requests.take();
    const samples: Array<Map<Phase, PhaseSample>> = [];
    for (const [index, file] of files.entries()) {
      const sample = new Map<Phase, PhaseSample>();
      const measure = async <T>(phase: Phase, step: () => Promise<T>): Promise<T> => {
        const azuriteBefore = cpuSecondsOf(azurite.process.pid) ?? 0;
        const childrenBefore = childrenCpuSeconds();
        const before = process.cpuUsage();
        requests.take();
        takeGdalRequests();
        const result = await step();
        const used = process.cpuUsage(before);
        sample.set(phase, {
          cpuMs: (used.user + used.system) / 1000 + (childrenCpuSeconds() - childrenBefore) * 1000,
          azuriteCpuMs: ((cpuSecondsOf(azurite.process.pid) ?? 0) - azuriteBefore) * 1000,
          requests: [...requests.take(), ...takeGdalRequests()],
        });
        return result;
      };
      const blob = { container: 'incoming', name: `profile/${file.split('/').pop()}` };
      const submitted = await measure('submit', () => submitJob({ client, store, jobs, settings }, { source: blob, collection, options: ingestOptions }));
      if (submitted.outcome !== 'started') throw new Error(`submission ${submitted.outcome}`);
      const stat = (await store.stat(blob))!;
      const source = { ...blob, etag: stat.etag, size: stat.size, lastModified: (stat.lastModified ?? new Date(0)).toISOString() };
      const outputs = deriveOutputLocation({ ...blob, etag: stat.etag, collection, options: ingestOptions, tileSize: settings.tileSize });
      const datetime = new Date().toISOString();
      const order = { sourceModified: source.lastModified, jobStarted: datetime };
      const items: RegisteredItem[] = [];
      if (mergedSteps) {
        const validated = await measure('validate + tile COG + statistics + thumbnail + item', () =>
          validateAndCreateTile({ source, options: ingestOptions, tileSize: settings.tileSize, singleTile: { outputs, datetime, order, worker: { thresholdBytes: readWorkerSettings({}).thresholdBytes } } }),
        );
        if (!validated.tile?.ok) throw new Error(`the source made no single tile: ${validated.tile ? validated.tile.failure.message : 'it plans several'}`);
        items.push(validated.tile.item);
      } else {
        const info = await measure('validate', () => validate({ source, options: ingestOptions, tileSize: settings.tileSize }));
        const windows = await measure('plan', async () => planTiles(info.width, info.height, settings.tileSize));
        for (const window of windows) {
          const itemId = deriveItemId(outputs.sourceKey, window);
          const tile = await measure('tile COG + statistics + thumbnail', () => createTileCog({ source, outputs, itemId, window, options: ingestOptions }));
          items.push(await measure('item', () => registerTileItem({ outputs, source, tile, datetime, order })));
        }
      }
      const input = { index: { key: 'k', createdTime: datetime } } as Pick<IngestInput, 'index'>;
      const endRecord = { key: input.index.key + index, id: submitted.instanceId, source: `${blob.container}/${blob.name}`, collection, createdTime: datetime, attempt: 1, previousAttempt: null, status: 'Completed' as const, lastUpdatedTime: datetime, tilesDone: 1, tilesFailed: 0, tilesTotal: 1, errors: [], errorCodes: [] };
      // A 1.7 job's end record goes with its finalize; older jobs write it in recordJob, after the mosaic request.
      await measure('finalize (records, catalogs)', () => finalize({ collection, publications: [{ outputs, source, items, order, options: ingestOptions, jobId: submitted.instanceId }], datetime, ...(mergedSteps ? { endRecord } : {}) }));
      await measure('mosaic', () => mosaic({ collection }));
      if (!mergedSteps) await measure('job record', () => recordJob(endRecord));
      // The first source pays for warming up (children, tables, containers): left out of the medians.
      if (index > 0) samples.push(sample);
    }
    if (options.trace) {
      for (const [phase, sample] of samples.at(-1) ?? []) for (const request of sample.requests) console.log(`${phase}: ${request.service} ${request.method} ${request.path}`);
    }
    const rows = summarize(samples);
    console.log(`\n${count} sources of ${size}×${size}×${scene.bands.count()} (L7_ETMs.tif windows), one collection, ${options.steps} steps; medians over sources 2–${count}; ${cpus().length} cores, ${loadLine()}`);
    console.log(`Durable round trips of one submission: ${(startNewCalls / count).toFixed(0)} start and the status look-ups counted as "durable" requests above.`);
    // What the job orchestrator schedules for such a source (test/orchestrator/single.tile.replay.test.ts), besides publishEvents.
    console.log(
      mergedSteps
        ? 'Steps of a standalone job of one tile (1.7): 2 activities (validateAndCreateTile, finalizeCollection with the end record) and 1 entity call (requestRun); requestCollectionMosaic and its collectionMosaic run only for the first job of a burst.\n'
        : 'Steps of a standalone job of one tile (1.6 and older): 5 activities (validateRaster, createAndRegisterTile, finalizeCollection, requestCollectionMosaic, recordJob), and a collectionMosaic run per job (a start, a lock, a claim, a release).\n',
    );
    for (const line of formatTable(rows)) console.log(line);
    const first = samples[0]?.get('mosaic');
    const last = samples.at(-1)?.get('mosaic');
    if (first && last) console.log(`\nmosaic phase, source 2 → source ${count}: ${first.requests.length} → ${last.requests.length} requests, ${first.cpuMs.toFixed(0)} → ${last.cpuMs.toFixed(0)} ms app CPU`);
  } finally {
    deps.inspector.close();
    durableApi.close();
    await azurite.stop();
    if (!process.env["KEEP_WORK"]) rmSync(work, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
