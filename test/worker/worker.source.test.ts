/**
 * How one worker execution reads its sources (issue 21, "worker at any size"), with the worker
 * loop in-process, the real COG code and the run's Azurite: the tiles of one source worked on at
 * once share one download, and later tiles of the execution read the same copy; a source over the
 * scratch rule (INGEST_SCRATCH_MAX_MB, simulated small here) is read in place, nothing of it
 * lands on disk, and its tiles equal those made from a copy.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import type { CreateTileCogInput, SourceBlob, TileCog } from '../../src/pipeline/contracts.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { tileResultEvent, type TileResultMessage, type TileWorkMessage } from '../../src/queue/tile.messages.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { TileWorker } from '../../worker/tile.worker.js';
import { createActivityHarness, type ActivityHarness } from '../integration/activity.harness.js';
import { createFixtureDir, writeFloat32Nodata } from '../support/fixtures.js';
import { MemoryQueue } from './memory.queue.js';

const fixtures = createFixtureDir('worker-source-');
const harnesses: ActivityHarness[] = [];
const downloadDir = mkdtempSync(join(tmpdir(), 'worker-source-cogs-'));
afterAll(() => {
  for (const harness of harnesses) harness.close();
  fixtures.remove();
  rmSync(downloadDir, { recursive: true, force: true });
});

/** An execution's dependencies: its own scratch folder and source cache, with these settings. */
function execution(settings: Parameters<typeof createActivityHarness>[0]): ActivityHarness {
  const harness = createActivityHarness(settings);
  harnesses.push(harness);
  return harness;
}

/** Every tile of `source` (tiles of 512) as work messages. */
function tileMessages(harness: ActivityHarness, source: SourceBlob, width: number, height: number): TileWorkMessage[] {
  const options = ingestOptionsSchema.parse({ blockSize: 256 });
  const { outputs } = harness.job(source, 'worker-source', { options, tileSize: 512 });
  return planTiles(width, height, 512).map((window, index): TileWorkMessage => {
    const input: CreateTileCogInput = { source, outputs, itemId: deriveItemId(outputs.sourceKey, window), window, options };
    return { kind: 'tile-work', instanceId: `job-1:tile-${index}`, eventName: tileResultEvent, dispatchId: `d-${index}`, input };
  });
}

/** Runs one worker execution (`--once`) over `messages` with `concurrency` slots; returns its tiles by item id. */
async function runExecution(harness: ActivityHarness, messages: TileWorkMessage[], concurrency: number): Promise<Map<string, TileCog>> {
  const queue = new MemoryQueue(60_000);
  for (const message of messages) queue.add(message);
  const worker = new TileWorker({ name: 'w', concurrency, once: true, maxDeliveries: 3, receiver: queue, results: queue, createTileCog: createCreateTileCog(harness.deps), log: { info: () => undefined, error: () => undefined }, receiveWaitMs: 20 });
  await worker.run();
  const results = queue.sent as TileResultMessage[];
  expect(results.map((result) => result.outcome.ok)).toEqual(messages.map(() => true));
  return new Map(results.map((result) => [result.outcome.ok ? result.outcome.value.itemId : '', result.outcome.ok ? result.outcome.value : ({} as TileCog)]));
}

function sourceCopiesIn(harness: ActivityHarness): string[] {
  const folder = join(harness.deps.scratch.folder, 'sources');
  return existsSync(folder) ? readdirSync(folder) : [];
}

describe('a worker execution and its sources', () => {
  const path = writeFloat32Nodata(fixtures.path, 1100, 700, 'big.tif'); // 3 MB, 6 tiles of 512

  it('downloads a source once for the tiles it works on at once, and later tiles read the same copy', async () => {
    const harness = execution({});
    const source = await harness.upload(path);
    const messages = tileMessages(harness, source, 1100, 700);
    expect(messages).toHaveLength(6);
    // Four slots: the first four tiles of the source start together.
    const tiles = await runExecution(harness, messages.slice(0, 4), 4);
    expect(tiles.size).toBe(4);
    expect(harness.deps.sources.downloads).toBe(1);
    expect(sourceCopiesIn(harness)).toHaveLength(1);
    // The rest of the execution's tiles of that source: no second download.
    await runExecution(harness, messages.slice(4), 2);
    expect(harness.deps.sources.downloads).toBe(1);
  });

  it('reads a source over half its scratch cap in place: nothing of it on disk, and the same tiles as from a copy', async () => {
    // A 1 MB cap stands in for a replica's disk: the 3 MB source cannot be copied.
    const capped = execution({ scratchMaxBytes: 1024 * 1024 });
    const copied = execution({ sourceRead: 'copy' });
    const source = await capped.upload(path, 'capped/big.tif');
    const inPlace = await runExecution(capped, tileMessages(capped, source, 1100, 700), 2);
    expect(capped.deps.sources.downloads).toBe(0);
    expect(sourceCopiesIn(capped)).toEqual([]);

    const fromCopy = await runExecution(copied, tileMessages(copied, source, 1100, 700), 2);
    expect(copied.deps.sources.downloads).toBe(1);
    expect([...inPlace.keys()].sort()).toEqual([...fromCopy.keys()].sort());
    for (const [itemId, tile] of inPlace) {
      // Same blob name (one job's outputs), so compare what each upload measured and hashed.
      const other = fromCopy.get(itemId)!;
      expect({ size: tile.size, checksum: tile.checksum, bands: tile.bands }, itemId).toEqual({ size: other.size, checksum: other.checksum, bands: other.bands });
    }
    // And the last upload's COG really is in storage with that hash's size.
    const [itemId, tile] = [...fromCopy.entries()][0]!;
    const local = join(downloadDir, `${itemId}.tif`);
    await copied.store.downloadToFile({ container: tile.blob.container, name: tile.blob.name }, local);
    expect(readFileSync(local).length).toBe(tile.size);
  });
});
