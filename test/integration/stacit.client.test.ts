/**
 * A real STAC client reading our output: GDAL's STACIT driver builds a mosaic from a
 * FeatureCollection of our items using nothing but their proj:* fields and asset hrefs, and
 * must return the source's grid and pixels.
 *
 * GDAL 3.6 (this machine) predates projection v2.0.0: its STACIT skips any asset without a
 * `proj:epsg` member (GDAL added `proj:code` in 3.10, OSGeo/gdal#11760). Projection v2.0.0 in
 * turn forbids `proj:epsg` (its schema rejects every proj:* field it does not define), so no
 * item can satisfy both. The test therefore checks that GDAL < 3.10 refuses the items as
 * published (on ≥ 3.10 it checks they open), and reads them through the one-field migration such
 * a client needs: `proj:code` "EPSG:n" → `proj:epsg` n (null stays null, with the `proj:wkt2`
 * our items already carry), declared as projection v1.1.0, which then validates too.
 *
 * Our containers are private, so the hrefs get a read-only SAS appended, as any client of a
 * private container does (Planetary Computer signs hrefs the same way).
 *
 * The items are found as a client finds them: from the root catalog down the links (collection →
 * shard catalog → source catalog → items), not by their blob names.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient, ContainerSASPermissions } from '@azure/storage-blob';
import gdal from 'gdal-async';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFinalizeCollection } from '../../src/activities/collection.finalize.js';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { containers } from '../../src/config.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { catalogBlob, collectionBlob } from '../../src/stac/catalog.layout.js';
import { walkStoredCatalog } from '../../src/stac/catalog.walk.js';
import { extensionSchemas, type StacItem } from '../../src/stac/stac.types.js';
import { createFixtureDir, writeInt16Dem, writeNoEpsgProjected, writeRgbUint8, type FixtureDir } from '../support/fixtures.js';
import { StacValidator } from '../support/stac.validator.js';
import { createActivityHarness, samePixels, type ActivityHarness } from './activity.harness.js';

let harness: ActivityHarness;
let fixtures: FixtureDir;
let readSas: string;
const validator = new StacValidator();

const projectionV1 = 'https://stac-extensions.github.io/projection/v1.1.0/schema.json';
const [gdalMajor, gdalMinor] = gdal.version.split('.').map(Number) as [number, number];
const stacitKnowsProjCode = gdalMajor > 3 || (gdalMajor === 3 && gdalMinor >= 10);

beforeAll(async () => {
  harness = createActivityHarness();
  fixtures = createFixtureDir('stacit-');
  const cogs = BlobServiceClient.fromConnectionString(inject('storageConnectionString')).getContainerClient(containers.cogs);
  const sasUrl = await cogs.generateSasUrl({ permissions: ContainerSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3_600_000) });
  readSas = new URL(sasUrl).search;
  // /vsicurl would otherwise try to list each COG's "directory", which blob storage does not serve.
  gdal.config.set('GDAL_DISABLE_READDIR_ON_OPEN', 'EMPTY_DIR');
});
afterAll(() => {
  gdal.config.set('GDAL_DISABLE_READDIR_ON_OPEN', null);
  harness.close();
  fixtures.remove();
});

/** A `stac` container document by its URL, as text. */
async function readStacUrl(url: string): Promise<string | undefined> {
  const stacBase = harness.store.url(catalogBlob()).replace(/catalog\.json$/, '');
  if (!url.startsWith(stacBase)) throw new Error(`${url} is outside the stac container`);
  return (await harness.store.readBytes({ container: containers.stac, name: decodeURIComponent(url.slice(stacBase.length)) }))?.toString('utf8');
}

/** validate → tiles → items → finalize through the real activities; returns the items reached from the root catalog by links. */
async function ingestAndReadItems(localPath: string, tileSize: number, collection: string): Promise<StacItem[]> {
  const source = await harness.upload(localPath);
  const info = await createValidateRaster(harness.deps)({ source });
  const { outputs, order } = harness.job(source, collection);
  const windows = planTiles(info.width, info.height, tileSize);
  expect(windows.length).toBeGreaterThan(1);
  const options = ingestOptionsSchema.parse({ blockSize: 128 });
  const datetime = '2026-11-25T17:00:00.000Z';
  const registered = [];
  for (const window of windows) {
    const tile = await createCreateTileCog(harness.deps)({ source, outputs, itemId: deriveItemId(outputs.sourceKey, window), window, options });
    registered.push(await createRegisterTileItem(harness.deps)({ outputs, source, tile, datetime, order }));
  }
  await createFinalizeCollection(harness.deps)({ collection, publications: [{ outputs, source, items: registered, order, options }], datetime });
  const rootUrl = harness.store.url(catalogBlob());
  const collectionUrl = harness.store.url(collectionBlob(collection));
  // Other collections hang under the same root; only this one is followed.
  const walk = await walkStoredCatalog(harness.store, rootUrl, { follow: (link, from) => from !== rootUrl || link.href === collectionUrl });
  expect(walk.missing).toEqual([]);
  expect(walk.itemUrls).toHaveLength(windows.length);
  return Promise.all(walk.itemUrls.map(async (url) => JSON.parse((await readStacUrl(url))!) as StacItem));
}

/** An item whose properties follow another projection version than ours. */
type ItemLike = Omit<StacItem, 'properties'> & { properties: Record<string, unknown> };

/** The items as a STAC ItemCollection (what a search returns) in a local file, hrefs signed for reading. */
function writeItemCollection(items: ItemLike[], name: string): string {
  const signed = items.map((item) => ({
    ...item,
    assets: Object.fromEntries(Object.entries(item.assets).map(([key, asset]) => [key, { ...asset, href: `${asset.href}${readSas}` }])),
  }));
  const path = join(fixtures.path, name);
  writeFileSync(path, JSON.stringify({ type: 'FeatureCollection', features: signed }));
  return path;
}

/** The migration a projection-v1 client (GDAL < 3.10) needs: `proj:code` → `proj:epsg`, nothing else. */
function toProjectionV1(item: StacItem): ItemLike {
  const { 'proj:code': code, ...properties } = item.properties;
  const epsg = typeof code === 'string' && /^EPSG:\d+$/.test(code) ? Number(code.slice('EPSG:'.length)) : null;
  return {
    ...item,
    stac_extensions: item.stac_extensions.map((url) => (url === extensionSchemas.projection ? projectionV1 : url)),
    properties: { ...properties, 'proj:epsg': epsg },
  };
}

function openStacit(path: string): gdal.Dataset {
  return gdal.open(`STACIT:"${path}"`);
}

/** The mosaic STACIT builds has the source's grid, CRS, bands and every pixel. */
function expectSameRaster(mosaic: gdal.Dataset, sourcePath: string): void {
  const source = gdal.open(sourcePath);
  try {
    expect([mosaic.rasterSize.x, mosaic.rasterSize.y]).toEqual([source.rasterSize.x, source.rasterSize.y]);
    const expectedGt = source.geoTransform!;
    mosaic.geoTransform!.forEach((value, i) => expect(value).toBeCloseTo(expectedGt[i]!, 9));
    expect(mosaic.srs!.isSame(source.srs!)).toBe(true);
    expect(mosaic.bands.count()).toBe(source.bands.count());
    const { x, y } = source.rasterSize;
    for (let b = 1; b <= source.bands.count(); b++) {
      expect(mosaic.bands.get(b).dataType).toBe(source.bands.get(b).dataType);
      expect(mosaic.bands.get(b).noDataValue).toEqual(source.bands.get(b).noDataValue);
      expect(samePixels(source.bands.get(b).pixels.read(0, 0, x, y), mosaic.bands.get(b).pixels.read(0, 0, x, y)), `band ${b} pixels`).toBe(true);
    }
  } finally {
    source.close();
  }
}

describe(`GDAL ${gdal.version} STACIT reads our items (real GDAL, real Azurite)`, () => {
  it.each([
    ['3-band uint8, EPSG:32633, 6 tiles with partial edges', () => writeRgbUint8(fixtures.path, 700, 500, 'stacit-rgb.tif'), 256],
    ['int16 DEM with nodata, EPSG:4326, fractional-degree pixels', () => writeInt16Dem(fixtures.path, 600, 500, 'stacit-dem.tif'), 256],
    ['a CRS without an EPSG code (proj:code null, proj:wkt2)', () => writeNoEpsgProjected(fixtures.path, 400, 300, 'stacit-lcc.tif'), 256],
  ])('%s', async (_kind, make, tileSize) => {
    const sourcePath = make();
    const stem = sourcePath.split('/').pop()!.replace(/\.tif$/, '');
    const items = await ingestAndReadItems(sourcePath, tileSize, `stacit-${harness.runId}-${stem}`);

    const published = writeItemCollection(items, `${stem}-items.json`);
    if (stacitKnowsProjCode) {
      const mosaic = openStacit(published);
      expectSameRaster(mosaic, sourcePath);
      mosaic.close();
    } else {
      expect(() => openStacit(published)).toThrow(/No compatible asset found/);
    }

    const migrated = items.map(toProjectionV1);
    for (const item of migrated) expect((await validator.validate(item)).errors).toEqual([]);
    const mosaic = openStacit(writeItemCollection(migrated, `${stem}-items-projection-v1.json`));
    try {
      expectSameRaster(mosaic, sourcePath);
    } finally {
      mosaic.close();
    }
  });
});
