/**
 * `validateAndCreateTile` (version 1.7, issue 22) on Azurite with GDAL: validation is
 * `validateRaster`'s (a truncated upload is refused by the inspection child and makes nothing);
 * a source of one tile on Functions gets its COG and item, read from the one copy validation made,
 * and its gates measured from that item (then finalize publishes it and writes the job's end
 * record); a source of several tiles, or routed to the worker, gets validation only.
 */
import { describe, expect, it } from 'vitest';
import { createIngestActivities } from '../../src/activities/index.js';
import type { ValidateAndCreateTileInput } from '../../src/pipeline/contracts.js';
import { FailureError } from '../../src/pipeline/failure.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { cogBlob, itemBlob } from '../../src/stac/catalog.layout.js';
import { writeInt16Dem, writeTruncated } from '../support/fixtures.js';
import { useActivityHarness } from './activity.harness.js';

const env = useActivityHarness();
const options = ingestOptionsSchema.parse({ blockSize: 128 });

async function inputFor(path: string, extra: { tileSize?: number; gates?: NonNullable<ValidateAndCreateTileInput['singleTile']>['gates']; route?: 'worker' } = {}): Promise<ValidateAndCreateTileInput> {
  const source = await env.harness.upload(path);
  const tileSize = extra.tileSize ?? 4096;
  const jobOptions = extra.route ? { ...options, route: extra.route } : options;
  const { outputs, order } = env.harness.job(source, `single-${env.harness.runId}`, { options: jobOptions, tileSize });
  return { source, options: jobOptions, tileSize, singleTile: { outputs, datetime: order.jobStarted, order, worker: { thresholdBytes: 1024 ** 3 }, ...(extra.gates ? { gates: extra.gates } : {}) } };
}

describe('validateAndCreateTile', () => {
  it('makes the COG and item of a source of one tile, reading the source once', async () => {
    const activities = createIngestActivities(env.harness.deps);
    const input = await inputFor(writeInt16Dem(env.fixtures.path, 600, 500, 'one-tile.tif'));
    const downloads = env.harness.deps.sources.downloads;
    const validated = await activities.validateAndCreateTile(input);
    expect(validated.info).toMatchObject({ width: 600, height: 500 });
    const outputs = input.singleTile!.outputs;
    const itemId = deriveItemId(outputs.sourceKey, { row: 0, col: 0 });
    expect(validated.tile).toMatchObject({ ok: true, item: { itemId, window: { width: 600, height: 500 } } });
    // No gates asked for: none measured.
    expect(validated.tile).not.toHaveProperty('violations');
    expect(await env.harness.store.stat(cogBlob(outputs, itemId))).toBeDefined();
    expect(await env.harness.store.readJson(itemBlob(outputs.collection, itemId))).toBeDefined();
    expect(env.harness.deps.sources.downloads - downloads).toBe(1);

    // Then finalize publishes it and writes the job's end record (1.7: no recordJob of its own).
    if (!validated.tile?.ok) throw new Error('expected a tile');
    const key = `8232999999999-single-${env.harness.runId}`;
    const endRecord = { key, id: `single-${env.harness.runId}`, source: `${input.source.container}/${input.source.name}`, collection: outputs.collection, createdTime: input.singleTile!.datetime, attempt: 1, previousAttempt: null, status: 'Completed' as const, lastUpdatedTime: input.singleTile!.datetime, tilesDone: 1, tilesFailed: 0, tilesTotal: 1, errors: [], errorCodes: [] };
    const finalized = await activities.finalizeCollection({ collection: outputs.collection, publications: [{ outputs, source: input.source, items: [validated.tile.item], order: input.singleTile!.order, options }], datetime: input.singleTile!.datetime, endRecord });
    expect(finalized.sources).toEqual([{ sourceKey: outputs.sourceKey, outcome: 'published', replacedItems: 0 }]);
    const rows = await env.harness.deps.jobs.page({ collection: outputs.collection, top: 10 });
    expect(rows.entries).toEqual([expect.objectContaining({ key, status: 'Completed', tilesDone: 1 })]);
  });

  it('checks the gates on the tile it made: a violation and a nodata share measured from its item', async () => {
    const activities = createIngestActivities(env.harness.deps);
    const input = await inputFor(writeInt16Dem(env.fixtures.path, 600, 500, 'gated.tif'), { gates: { crs: { family: 'projected' }, maxNodataShare: 0.5 } });
    const validated = await activities.validateAndCreateTile(input);
    if (!validated.tile?.ok) throw new Error('expected a tile');
    expect(validated.tile.violations?.map((violation) => violation.rule)).toEqual(['crs.family']);
  });

  it('refuses a truncated upload as validateRaster does, and makes nothing', async () => {
    const activities = createIngestActivities(env.harness.deps);
    const input = await inputFor(writeTruncated(env.fixtures.path, 0.6, 'cut.tif'));
    const refused = await activities.validateAndCreateTile(input).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FailureError);
    expect((refused as FailureError).failure.code).toBe('INVALID_INPUT');
    const outputs = input.singleTile!.outputs;
    expect(await env.harness.store.list(cogBlob(outputs, 'x').container, `${outputs.collection}/${outputs.sourceKey}/`)).toEqual([]);
  });

  it('validates only a source of several tiles, or one routed to the worker', async () => {
    const activities = createIngestActivities(env.harness.deps);
    const several = await activities.validateAndCreateTile(await inputFor(writeInt16Dem(env.fixtures.path, 600, 500, 'several.tif'), { tileSize: 256 }));
    expect(several.info).toMatchObject({ width: 600 });
    expect(several).not.toHaveProperty('tile');
    const toWorker = await activities.validateAndCreateTile(await inputFor(writeInt16Dem(env.fixtures.path, 300, 200, 'worker.tif'), { route: 'worker' }));
    expect(toWorker).not.toHaveProperty('tile');
  });
});
