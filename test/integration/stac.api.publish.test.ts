/**
 * The activities publishing to a STAC API (Transaction extension) as well as to the static
 * catalog. No STAC API server installs here: the loopback server in
 * test/support/stac.api.server.ts keeps the extension's status codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivityDependencies } from '../../src/activities/activity.dependencies.js';
import { createFinalizeCollection } from '../../src/activities/collection.finalize.js';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { StacApiClient } from '../../src/stac/stac.api.client.js';
import { createFixtureDir, writeFloat32NanDem, writeRgbUint8, type FixtureDir } from '../support/fixtures.js';
import { startLoopbackStacApi, type LoopbackStacApi } from '../support/stac.api.server.js';
import { StacValidator } from '../support/stac.validator.js';
import { createActivityHarness, type ActivityHarness } from './activity.harness.js';

let harness: ActivityHarness;
let fixtures: FixtureDir;
let api: LoopbackStacApi;
const validator = new StacValidator();

beforeAll(async () => {
  harness = createActivityHarness();
  fixtures = createFixtureDir();
  api = await startLoopbackStacApi();
});
afterAll(async () => {
  harness.close();
  fixtures.remove();
  await api.close();
});

describe('publishing to a STAC API (loopback Transaction server, real GDAL and Azurite)', () => {
  it('publishes every item as it registers and the finalized collection, idempotently', async () => {
    const deps = { ...createActivityDependencies({ store: harness.store, jobs: harness.deps.jobs, retired: harness.deps.retired, settings: harness.deps.settings, stacApi: new StacApiClient({ baseUrl: api.url, initialDelayMs: 1 }) }), sources: harness.deps.sources };
    const collection = `api-${harness.runId}`;
    const datetime = '2026-11-25T17:00:00.000Z';
    const run = async (path: string): Promise<void> => {
      const source = await harness.upload(path);
      const info = await createValidateRaster(deps)({ source });
      const { outputs, order } = harness.job(source, collection);
      const items = [];
      for (const window of planTiles(info.width, info.height, 256)) {
        const itemId = deriveItemId(outputs.sourceKey, window);
        const tile = await createCreateTileCog(deps)({ source, outputs, itemId, window, options: ingestOptionsSchema.parse({ blockSize: 128 }) });
        items.push(await createRegisterTileItem(deps)({ outputs, source, tile, datetime, order }));
        // Published right away, not at finalize.
        expect(api.item(collection, itemId)).toBeDefined();
      }
      await createFinalizeCollection(deps)({ collection, publications: [{ outputs, source, items, order }], datetime });
    };
    await run(writeRgbUint8(fixtures.path, 400, 300, 'api-rgb.tif'));
    await run(writeRgbUint8(fixtures.path, 400, 300, 'api-rgb.tif'));
    await run(writeFloat32NanDem(fixtures.path, 300, 200, 'api-dem.tif'));

    expect(api.items.get(collection)?.size).toBe(4 + 2);
    const published = api.collection(collection) as { extent: { spatial: { bbox: number[][] } }; links: Array<{ rel: string }> };
    expect(published.links.some((l) => ['self', 'root', 'parent', 'item'].includes(l.rel))).toBe(false);
    const stored = (await harness.store.readJson<{ extent: unknown }>({ container: 'stac', name: `${collection}/collection.json` }))!.value;
    expect(published.extent).toEqual(stored.extent);
    const anItemId = [...(api.items.get(collection)?.keys() ?? [])].find((id) => /-api-rgb-[0-9a-f]{12}-r0-c0$/.test(id))!;
    const anItem = api.item(collection, anItemId) as { links: Array<{ rel: string }>; assets: Record<string, unknown> };
    expect(anItem.links.some((l) => l.rel === 'self')).toBe(false);
    expect(Object.keys(anItem.assets)).toEqual(['data', 'thumbnail']);
    // As served: the API adds the links it owns (an item with `collection` needs a collection link).
    const served = { ...anItem, links: [{ rel: 'collection', href: `${api.url}/collections/${collection}` }] };
    expect((await validator.validate(served)).errors).toEqual([]);
    expect((await validator.validate(published)).errors).toEqual([]);
  });
});
