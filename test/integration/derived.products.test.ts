/**
 * Derived products (issue 24, part 3) on Azurite and GDAL: a DEM collection (the suite's Float32
 * DEM, tiled as a job tiles it) feeding a hillshade and a slope collection, the suite's RGB image
 * feeding a normalized-difference collection, and a reprojection. Each derived COG is checked
 * pixel for pixel against GDAL's own command-line tools run on the same source COG (gdaldem,
 * gdal_calc.py, gdalwarp), against GDAL's COG validator, and its item against the STAC schemas.
 * A replaced source redoes its derived items; a removed one takes them away. The hostile corpus
 * (test/support/hostile.derived.ts) runs through `createDerivedItem`.
 * The orchestration that sequences these steps is replayed in test/orchestrator/derived.orchestrator.test.ts.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import gdal from 'gdal-async';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCreateDerivedItem, createListDerivedCollections, createRemoveDerivedProducts, type DerivedDependencies } from '../../src/activities/derived.products.js';
import { createFinalizeCollection } from '../../src/activities/collection.finalize.js';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { CollectionStore } from '../../src/collections/collection.store.js';
import { collectionDefinitionSchema } from '../../src/collections/definition.schema.js';
import { containers } from '../../src/config.js';
import type { Derivation, DerivedCollectionPlan, OutputLocation, RegisteredItem, SourceBlob, VersionOrder } from '../../src/pipeline/contracts.js';
import { failureFrom } from '../../src/pipeline/failure.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { deriveDerivedOutputs } from '../../src/raster/derived.plan.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { cogBlob, collectionBlob, itemBlob, sourceRecordBlob } from '../../src/stac/catalog.layout.js';
import { collectionItemCount } from '../../src/stac/collection.build.js';
import type { SourceRecord } from '../../src/stac/source.record.js';
import type { StacCollection, StacItem } from '../../src/stac/stac.types.js';
import { validateCog } from '../support/cog.validator.js';
import { writeFloat32Nodata, writeInt16Dem, writeRaster, writeRgbUint8, writeTiffDated } from '../support/fixtures.js';
import { hostileDerivedCases, type HostileDerivedCase } from '../support/hostile.derived.js';
import { StacValidator } from '../support/stac.validator.js';
import { downloadBlob, samePixels, useActivityHarness } from './activity.harness.js';

const run = promisify(execFile);
const env = useActivityHarness('derived-products-');
const validator = new StacValidator();
const options = ingestOptionsSchema.parse({});

let collections: CollectionStore;
let deps: DerivedDependencies;

beforeAll(() => {
  collections = CollectionStore.fromEnvironment({ AzureWebJobsStorage: inject('storageConnectionString') });
  deps = { ...env.harness.deps, collections };
});

/** A collection id of this file's run (Azurite and the definitions table are shared by the suite's files). */
const idOf = (name: string): string => `${name}-${env.harness.runId}`;

async function defineCollection(id: string, derivedFrom?: Derivation): Promise<void> {
  const written = await collections.write(id, collectionDefinitionSchema.parse(derivedFrom ? { derivedFrom } : {}), null, new Date());
  expect(written.outcome).toBe('written');
}

interface Published {
  source: SourceBlob;
  outputs: OutputLocation;
  order: VersionOrder;
  items: RegisteredItem[];
}

/** validate → tiles → items → finalize, as a job runs them. */
async function publish(localPath: string, collection: string, tileSize: number, blobName: string): Promise<Published> {
  const source = await env.harness.upload(localPath, blobName);
  const info = await createValidateRaster(env.harness.deps)({ source, tileSize });
  const { outputs, order } = env.harness.job(source, collection, { options, tileSize });
  const createTileCog = createCreateTileCog(env.harness.deps);
  const registerTileItem = createRegisterTileItem(env.harness.deps);
  const datetime = order.jobStarted;
  const items = await Promise.all(
    planTiles(info.width, info.height, tileSize).map(async (window) => {
      const tile = await createTileCog({ source, outputs, itemId: deriveItemId(outputs.sourceKey, window), window, options });
      return registerTileItem({ outputs, source, tile, datetime, order });
    }),
  );
  await createFinalizeCollection(env.harness.deps)({ collection, publications: [{ outputs, source, items, order }], datetime });
  return { source, outputs, order, items };
}

/** What `deriveProducts` does for one derived collection: each item, then the derived collection's finalize. */
async function derive(published: Published, target: DerivedCollectionPlan): Promise<RegisteredItem[]> {
  const outputs = deriveDerivedOutputs(published.outputs, target);
  const createDerivedItem = createCreateDerivedItem(deps);
  const made: RegisteredItem[] = [];
  for (const item of published.items) {
    made.push(await createDerivedItem({ source: published.source, sourceOutputs: published.outputs, sourceItem: item, outputs, derivation: target.derivation, datetime: published.order.jobStarted, order: published.order }));
  }
  const finalized = await createFinalizeCollection(env.harness.deps)({
    collection: target.collection,
    publications: [{ outputs, source: published.source, items: made, order: published.order, derivedFrom: { collection: published.outputs.collection } }],
    datetime: published.order.jobStarted,
  });
  expect(finalized.sources[0]?.outcome).toBe('published');
  return made;
}

async function plansFor(collection: string): Promise<Map<string, DerivedCollectionPlan>> {
  const plans = await createListDerivedCollections(deps)({ collection });
  return new Map(plans.map((plan) => [plan.collection, plan]));
}

/** Band 1 of a raster file, whole. */
function readBand(path: string, band = 1): gdal.TypedArray {
  const dataset = gdal.open(path);
  try {
    const { x, y } = dataset.rasterSize;
    return dataset.bands.get(band).pixels.read(0, 0, x, y);
  } finally {
    dataset.close();
  }
}

/** Downloads the source COG and the derived COG of one item; checks the derived one is a valid COG. */
async function cogPair(sourceOutputs: OutputLocation, derivedOutputs: OutputLocation, itemId: string): Promise<{ source: string; derived: string }> {
  const source = await downloadBlob(env.harness.store, containers.cogs, cogBlob(sourceOutputs, itemId).name, env.fixtures.path);
  const derived = await downloadBlob(env.harness.store, containers.cogs, cogBlob(derivedOutputs, itemId).name, env.fixtures.path);
  const validation = await validateCog(derived);
  expect(validation.errors).toEqual([]);
  expect(validation.valid).toBe(true);
  return { source, derived };
}

async function readItem(collection: string, itemId: string): Promise<StacItem | undefined> {
  return (await env.harness.store.readJson<StacItem>(itemBlob(collection, itemId)))?.value;
}

async function expectValidDerivedItem(collection: string, itemId: string, sourceCollection: string): Promise<StacItem> {
  const item = await readItem(collection, itemId);
  expect(item).toBeDefined();
  const result = await validator.validate(item);
  expect(result.errors).toEqual([]);
  const links = item!.links.filter((link) => link.rel === 'derived_from').map((link) => link.href);
  expect(links).toEqual([env.harness.store.url(itemBlob(sourceCollection, itemId)), env.harness.store.url(collectionBlob(sourceCollection))]);
  expect(item!.properties['raster-ingest:derived_from']).toEqual({ collection: sourceCollection, item: itemId });
  expect(item!.assets['data']!.href).toContain(`/${containers.cogs}/${collection}/`);
  return item!;
}

describe('derived products of a DEM: hillshade and slope', () => {
  const dem = () => idOf('dem');
  const hillshade = () => idOf('hillshade');
  const slope = () => idOf('slope');
  let first: Published;

  beforeAll(async () => {
    await defineCollection(dem());
    await defineCollection(hillshade(), { collection: dem(), product: 'hillshade' });
    await defineCollection(slope(), { collection: dem(), product: 'slope' });
    // The suite's Float32 DEM (UTM 33N, numeric nodata), 700 × 520 in four 512-pixel tiles.
    first = await publish(writeFloat32Nodata(env.fixtures.path), dem(), 512, 'dem.tif');
  });

  it('lists the collections deriving from the DEM collection, with their definition versions', async () => {
    const plans = await plansFor(dem());
    expect([...plans.keys()].sort()).toEqual([hillshade(), slope()].sort());
    expect(plans.get(hillshade())).toEqual({ collection: hillshade(), definitionVersion: 1, derivation: { collection: dem(), product: 'hillshade' } });
  });

  it('makes each item\'s hillshade and slope exactly as gdaldem does on the same COG, as valid COGs with valid STAC items', async () => {
    const plans = await plansFor(dem());
    for (const [collection, product] of [
      [hillshade(), 'hillshade'],
      [slope(), 'slope'],
    ] as const) {
      const target = plans.get(collection)!;
      const made = await derive(first, target);
      expect(made.map((item) => item.itemId)).toEqual(first.items.map((item) => item.itemId));
      const outputs = deriveDerivedOutputs(first.outputs, target);
      for (const item of first.items) {
        const files = await cogPair(first.outputs, outputs, item.itemId);
        const expected = join(env.fixtures.path, `${product}-${item.itemId}-gdaldem.tif`);
        await run('gdaldem', [product, '-q', '-compute_edges', files.source, expected]);
        expect(samePixels(readBand(files.derived), readBand(expected))).toBe(true);
        const stacItem = await expectValidDerivedItem(collection, item.itemId, dem());
        expect(stacItem.properties['proj:code']).toBe('EPSG:32633');
        expect(stacItem.properties['raster-ingest:derived_product']).toBe(product);
        expect(stacItem.assets['data']!.bands![0]!.data_type).toBe(product === 'hillshade' ? 'uint8' : 'float32');
      }
      // The derived collection publishes them like a job's: its record, its collection and item count.
      const record = (await env.harness.store.readJson<SourceRecord>(sourceRecordBlob(collection, first.outputs.sourceKey)))!.value;
      expect(record.version).toBe(outputs.version);
      const document = (await env.harness.store.readJson<StacCollection>(collectionBlob(collection)))!.value;
      expect(collectionItemCount(document)).toBe(first.items.length);
      expect((await validator.validate(document)).errors).toEqual([]);
    }
  });

  it('redoes the derived items when the source is replaced, and retires the outputs of the old version', async () => {
    const plans = await plansFor(dem());
    const target = plans.get(hillshade())!;
    const oldOutputs = deriveDerivedOutputs(first.outputs, target);
    // The same blob, replaced by another DEM (EPSG:4326, two tiles): a new version of the source.
    const replaced = await publish(writeInt16Dem(env.fixtures.path, 600, 500, 'dem-v2.tif'), dem(), 512, 'dem.tif');
    expect(replaced.outputs.sourceKey).toBe(first.outputs.sourceKey);
    expect(replaced.outputs.version).not.toBe(first.outputs.version);
    await derive(replaced, target);
    const newOutputs = deriveDerivedOutputs(replaced.outputs, target);
    const itemId = replaced.items[0]!.itemId;
    const item = await expectValidDerivedItem(hillshade(), itemId, dem());
    expect(item.assets['data']!.href).toContain(`/${newOutputs.version}/`);
    expect(item.properties['proj:code']).toBe('EPSG:4326');
    // A geographic DEM is scaled from degrees to metres, as gdaldem is told to.
    const files = await cogPair(replaced.outputs, newOutputs, itemId);
    const expected = join(env.fixtures.path, `hillshade-geographic-gdaldem.tif`);
    await run('gdaldem', ['hillshade', '-q', '-compute_edges', '-s', '111120', files.source, expected]);
    expect(samePixels(readBand(files.derived), readBand(expected))).toBe(true);
    // Items of the old version the new one does not have are gone; the old version's COGs are retired.
    const staleIds = first.items.map((each) => each.itemId).filter((id) => !replaced.items.some((each) => each.itemId === id));
    expect(staleIds.length).toBeGreaterThan(0);
    for (const id of staleIds) expect(await readItem(hillshade(), id)).toBeUndefined();
    const due = await env.harness.deps.retired.listDue(new Date(Date.now() + 400 * 86_400_000), 10_000);
    expect(due.some((version) => version.collection === hillshade() && version.version === oldOutputs.version)).toBe(true);
    const document = (await env.harness.store.readJson<StacCollection>(collectionBlob(hillshade())))!.value;
    expect(collectionItemCount(document)).toBe(replaced.items.length);
    first = replaced;
  });

  it('removes the derived items, COGs and records of a removed source from every derived collection, down the chain', async () => {
    const slopes = await derive(first, (await plansFor(dem())).get(slope())!);
    // A collection deriving from a derived one: the slope reprojected to Web Mercator.
    const chained = idOf('slope-3857');
    await defineCollection(chained, { collection: slope(), product: 'reproject', targetCrs: 'EPSG:3857' });
    const slopeOutputs = deriveDerivedOutputs(first.outputs, (await plansFor(dem())).get(slope())!);
    await derive({ ...first, outputs: slopeOutputs, items: slopes }, (await plansFor(slope())).get(chained)!);
    expect(await readItem(chained, first.items[0]!.itemId)).toBeDefined();
    // Before: the hillshade holds two versions of the source (the replaced one retired, in its grace period).
    const hillshadeFolders = new Set((await env.harness.store.list(containers.cogs, `${hillshade()}/${first.outputs.sourceKey}/`)).map((name) => name.split('/')[2]));
    expect(hillshadeFolders.size).toBe(2);
    // The whole source: no item ids given.
    const removed = await createRemoveDerivedProducts(deps)({ sourceCollection: dem(), sourceKey: first.outputs.sourceKey });
    expect(removed.collections.map((each) => each.collection).sort()).toEqual([hillshade(), slope(), chained].sort());
    for (const collection of [hillshade(), slope(), chained]) {
      expect(removed.collections.find((each) => each.collection === collection)!.items).toBe(first.items.length);
      for (const item of first.items) expect(await readItem(collection, item.itemId)).toBeUndefined();
      expect(await env.harness.store.readJson(sourceRecordBlob(collection, first.outputs.sourceKey))).toBeUndefined();
      // Every version of the source here, the replaced one in its grace period too.
      expect(await env.harness.store.list(containers.cogs, `${collection}/${first.outputs.sourceKey}/`)).toEqual([]);
      const document = (await env.harness.store.readJson<StacCollection>(collectionBlob(collection)))!.value;
      expect(collectionItemCount(document)).toBe(0);
      expect((await validator.validate(document)).errors).toEqual([]);
    }
    // Again: nothing left to remove, no failure.
    const again = await createRemoveDerivedProducts(deps)({ sourceCollection: dem(), sourceKey: first.outputs.sourceKey, sourceItemIds: first.items.map((item) => item.itemId) });
    expect(again.collections).toHaveLength(3);
    expect(again.collections.every((each) => each.items === 0)).toBe(true);
  });
});

describe('derived products of a multi-band image: normalized difference and reprojection', () => {
  const rgb = () => idOf('rgb');
  const ndi = () => idOf('ndi');
  const geographic = () => idOf('rgb-wgs84');
  let published: Published;

  beforeAll(async () => {
    await defineCollection(rgb());
    await defineCollection(ndi(), { collection: rgb(), product: 'normalized-difference', bands: [1, 2] });
    await defineCollection(geographic(), { collection: rgb(), product: 'reproject', targetCrs: 'EPSG:4326', resolution: 0.0002 });
    published = await publish(writeRgbUint8(env.fixtures.path, 600, 400), rgb(), 4096, 'rgb.tif');
  });

  it('computes (b1 - b2) / (b1 + b2) as gdal_calc.py does, Float32 with NaN where the sum is 0', async () => {
    const target = (await plansFor(rgb())).get(ndi())!;
    await derive(published, target);
    const itemId = published.items[0]!.itemId;
    const files = await cogPair(published.outputs, deriveDerivedOutputs(published.outputs, target), itemId);
    const expected = join(env.fixtures.path, 'ndi-gdal-calc.tif');
    await run('/usr/bin/python3', ['/usr/bin/gdal_calc.py', '--quiet', '-A', files.source, '--A_band=1', '-B', files.source, '--B_band=2', `--outfile=${expected}`, '--calc=(A.astype(numpy.float64)-B)/(A.astype(numpy.float64)+B)', '--type=Float32', '--NoDataValue=nan']);
    const derived = readBand(files.derived);
    expect(derived).toBeInstanceOf(Float32Array);
    expect(samePixels(derived, readBand(expected))).toBe(true);
    const item = await expectValidDerivedItem(ndi(), itemId, rgb());
    expect(item.assets['data']!.bands).toEqual([expect.objectContaining({ data_type: 'float32', nodata: 'nan' })]);
  });

  it('reprojects to the target CRS and resolution as gdalwarp does', async () => {
    const target = (await plansFor(rgb())).get(geographic())!;
    await derive(published, target);
    const itemId = published.items[0]!.itemId;
    const files = await cogPair(published.outputs, deriveDerivedOutputs(published.outputs, target), itemId);
    const expected = join(env.fixtures.path, 'rgb-gdalwarp.tif');
    await run('gdalwarp', ['-q', '-t_srs', 'EPSG:4326', '-r', 'bilinear', '-tr', '0.0002', '0.0002', '-dstalpha', files.source, expected]);
    for (const band of [1, 2, 3, 4]) expect(samePixels(readBand(files.derived, band), readBand(expected, band))).toBe(true);
    const item = await expectValidDerivedItem(geographic(), itemId, rgb());
    expect(item.properties['proj:code']).toBe('EPSG:4326');
    expect((item.properties['proj:transform'] as number[])[0]).toBeCloseTo(0.0002, 12);
  });
});

describe('the time of a derived item', () => {
  const dated = () => idOf('dated');
  const slopes = () => idOf('dated-slope');

  it("is its source item's acquisition time; a source item whose time is not one is dated by the ingestion, with a note", async () => {
    await defineCollection(dated());
    await defineCollection(slopes(), { collection: dated(), product: 'slope' });
    const published = await publish(writeTiffDated(env.fixtures.path), dated(), 4096, 'dated.tif');
    const itemId = published.items[0]!.itemId;
    const source = (await readItem(dated(), itemId))!;
    expect(source.properties.datetime).toBe('2021-06-14T10:32:05.000Z');
    await derive(published, (await plansFor(dated())).get(slopes())!);
    const derived = await expectValidDerivedItem(slopes(), itemId, dated());
    expect(derived.properties.datetime).toBe('2021-06-14T10:32:05.000Z');
    expect(derived.properties.created).toBe(published.order.jobStarted);
    expect(derived.properties['raster-ingest:datetime_source']).toMatch(new RegExp(`^source item ${itemId}: `));

    // The source item's document rewritten with a time that is none (and far too long).
    await env.harness.store.writeJson(itemBlob(dated(), itemId), { ...source, properties: { ...source.properties, datetime: `2021-13-99${'9'.repeat(5000)}` } });
    await derive(published, (await plansFor(dated())).get(slopes())!);
    const redone = await expectValidDerivedItem(slopes(), itemId, dated());
    expect(redone.properties.datetime).toBe(published.order.jobStarted);
    expect(JSON.stringify(redone.properties['raster-ingest:notes'])).toMatch(/not a time span/);
    expect(JSON.stringify(redone).length).toBeLessThan(20_000);
  });
});

describe('hostile derived products (test/support/hostile.derived.ts)', () => {
  const sourceCollection = () => idOf('hostile-src');
  const derivedCollection = () => idOf('hostile-dst');
  let dem: Published;
  let canary: Server;
  const requests: string[] = [];
  let canaryUrl = '';

  beforeAll(async () => {
    canary = createServer((request, response) => {
      requests.push(request.url ?? '');
      response.end('sentinel');
    });
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
    canaryUrl = `http://127.0.0.1:${(canary.address() as AddressInfo).port}`;
    dem = await publish(writeFloat32Nodata(env.fixtures.path, 300, 200, 'hostile-dem.tif'), sourceCollection(), 4096, 'hostile-dem.tif');
  });
  afterAll(() => new Promise<void>((resolve) => (canary ? canary.close(() => resolve()) : resolve())));

  /** A sentinel raster outside the cogs container: a derived product made from it would be full of 13371337. */
  async function uploadSentinel(name: string): Promise<SourceBlob> {
    const path = writeRaster(join(env.fixtures.path, `${name}.tif`), { width: 300, height: 200, bands: 1, dataType: gdal.GDT_Float32, srs: gdal.SpatialReference.fromEPSG(32633), geoTransform: [400000, 30, 0, 5500000, 0, -30], value: () => 13371337 });
    return env.harness.upload(path, `sentinel-${name}.tif`);
  }

  /** Puts the case's source COG at its item's place in the cogs container; returns the source outputs and item. */
  async function placeSource(testCase: HostileDerivedCase): Promise<{ outputs: OutputLocation; itemId: string }> {
    const sourceKey = `case-${testCase.name}`;
    const outputs = { collection: sourceCollection(), sourceKey, version: 'v1' };
    const itemId = testCase.itemId ?? `${sourceKey}-r0-c0`;
    let path: string;
    switch (testCase.source.kind) {
      case 'dem':
        if (!testCase.tamperAssets || testCase.tamperAssets === 'missing-cog') {
          if (testCase.tamperAssets !== 'missing-cog') return { outputs: dem.outputs, itemId: testCase.itemId ?? dem.items[0]!.itemId };
          return { outputs, itemId };
        }
        return { outputs: dem.outputs, itemId: dem.items[0]!.itemId };
      case 'rgb':
        path = writeRgbUint8(env.fixtures.path, 64, 64, `${sourceKey}.tif`);
        break;
      case 'bands': {
        path = join(env.fixtures.path, `${sourceKey}.tif`);
        const dataset = gdal.open(path, 'w', 'GTiff', 8, 8, testCase.source.count, testCase.source.dataType === 'CInt16' ? gdal.GDT_CInt16 : gdal.GDT_Byte, ['INTERLEAVE=BAND']);
        dataset.srs = gdal.SpatialReference.fromEPSG(32633);
        dataset.geoTransform = [400000, 30, 0, 5500000, 0, -30];
        dataset.close();
        break;
      }
      case 'vrt-naming-sentinel': {
        const sentinel = writeRaster(join(env.fixtures.path, `${sourceKey}-sentinel.tif`), { width: 8, height: 8, bands: 1, dataType: gdal.GDT_Float32, srs: gdal.SpatialReference.fromEPSG(32633), geoTransform: [400000, 30, 0, 5500000, 0, -30], value: () => 13371337 });
        path = join(env.fixtures.path, `${sourceKey}.vrt`);
        writeFileSync(path, `<VRTDataset rasterXSize="8" rasterYSize="8"><VRTRasterBand dataType="Float32" band="1"><SimpleSource><SourceFilename relativeToVRT="0">${sentinel}</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>`);
        break;
      }
      case 'png':
        path = join(env.fixtures.path, `${sourceKey}.png`);
        (await gdal.translateAsync(path, gdal.open(writeRgbUint8(env.fixtures.path, 32, 32, `${sourceKey}-rgb.tif`)), ['-of', 'PNG'])).close();
        break;
    }
    // Not under an invalid id: those cases never get as far as a blob name.
    if (!testCase.itemId) await env.harness.store.uploadFile(cogBlob(outputs, itemId), path, 'image/tiff');
    return { outputs, itemId };
  }

  for (const testCase of hostileDerivedCases) {
    it(`${testCase.name}: ${testCase.attack}`, async () => {
      const { outputs: sourceOutputs, itemId } = await placeSource(testCase);
      if (testCase.tamperAssets) {
        const sentinel = await uploadSentinel(testCase.name);
        const href = testCase.tamperAssets === 'url' ? `${canaryUrl}/${testCase.name}.tif` : env.harness.store.url({ container: sentinel.container, name: sentinel.name });
        const ref = itemBlob(sourceCollection(), itemId);
        const item = (await env.harness.store.readJson<StacItem>(ref))?.value ?? ({ assets: {} } as unknown as StacItem);
        await env.harness.store.writeJson(ref, { ...item, assets: { ...item.assets, data: { ...item.assets['data'], href } } });
      }
      const target: DerivedCollectionPlan = { collection: derivedCollection(), definitionVersion: 1, derivation: { collection: sourceCollection(), ...testCase.derivation } };
      const outputs = deriveDerivedOutputs(sourceOutputs, target);
      const attempt = createCreateDerivedItem(deps)({
        source: dem.source,
        sourceOutputs,
        sourceItem: { itemId, itemUrl: env.harness.store.url(itemBlob(sourceCollection(), itemId)) },
        outputs,
        derivation: target.derivation,
        datetime: dem.order.jobStarted,
        order: dem.order,
      });
      if (testCase.expected) {
        const failure = failureFrom(await attempt.then(() => undefined, (error: unknown) => error));
        expect(failure.code).toBe(testCase.expected.code);
        expect(failure.message).toMatch(testCase.expected.message);
        expect(failure.message).not.toMatch(/\/tmp\/|\n\s+at |scratch/);
      } else {
        const made = await attempt;
        const derived = await downloadBlob(env.harness.store, containers.cogs, cogBlob(outputs, made.itemId).name, env.fixtures.path);
        expect((await validateCog(derived)).valid).toBe(true);
        const values = readBand(derived);
        expect(Array.from(values).some((value) => value === 13371337)).toBe(false);
        if (testCase.tamperAssets) {
          // Made from the app's own COG: as gdaldem makes it from that COG.
          const source = await downloadBlob(env.harness.store, containers.cogs, cogBlob(sourceOutputs, itemId).name, env.fixtures.path);
          const expected = join(env.fixtures.path, `${testCase.name}-expected.tif`);
          await run('gdaldem', [testCase.derivation.product, '-q', '-compute_edges', source, expected]);
          expect(samePixels(values, readBand(expected))).toBe(true);
        }
      }
      expect(requests.filter((url) => url.includes(testCase.name))).toEqual([]);
    });
  }
});
