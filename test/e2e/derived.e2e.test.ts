/**
 * Derived products (issue 24, part 3) through the local host: two collections deriving from a DEM
 * collection (a hillshade and a slope) and one whose derivation the DEM cannot give (a normalized
 * difference of bands 1 and 2 of a one-band DEM). An upload to the DEM collection's prefix is
 * ingested by the upload trigger; its job (orchestration 1.6) completes with each derived
 * collection's outcome in its view: the hillshade and slope items published with `derived_from`
 * links, the impossible one failed as data (`INVALID_INPUT`, not retryable) without failing the job.
 * Deleting the DEM removes its derived items and COGs with it.
 */
import { describe, expect, it } from 'vitest';
import { collectionBlob, itemBlob } from '../../src/stac/catalog.layout.js';
import type { StacCollection, StacItem } from '../../src/stac/stac.types.js';
import { collectionItemCount } from '../../src/stac/collection.build.js';
import { writeFloat32Nodata } from '../support/fixtures.js';
import { jobOfUpload, useHostOnOwnAzurite, waitForJob } from '../support/local.host.js';

const env = useHostOnOwnAzurite('derived');

async function putCollection(id: string, definition: unknown): Promise<void> {
  const response = await fetch(`${env.host.baseUrl}/api/collections/${id}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(definition) });
  expect(response.status, await response.text()).toBe(201);
}

describe('derived products through the local host', () => {
  it('derives a hillshade and a slope of an uploaded DEM, and shows an impossible derivation as a failure of its own', async () => {
    await putCollection('dem', { sources: [{ container: 'uploads', prefix: 'dem/' }] });
    await putCollection('dem-hillshade', { derivedFrom: { collection: 'dem', product: 'hillshade' } });
    await putCollection('dem-slope', { derivedFrom: { collection: 'dem', product: 'slope' } });
    await putCollection('dem-ndi', { derivedFrom: { collection: 'dem', product: 'normalized-difference', bands: [1, 2] } });

    await env.store.uploadFile({ container: 'uploads', name: 'dem/alps.tif' }, writeFloat32Nodata(env.fixtures.path, 300, 200, 'alps.tif'), 'image/tiff');
    const job = await waitForJob(env.host.baseUrl, (await jobOfUpload(env.host.baseUrl, 'uploads/dem/alps.tif')).id);
    expect(job.status, JSON.stringify(job.errors)).toBe('Completed');
    expect(job.stage).toBe('completed');
    const outcomes = new Map(job.derived.map((outcome) => [outcome.collection, outcome]));
    expect([...outcomes.keys()].sort()).toEqual(['dem-hillshade', 'dem-ndi', 'dem-slope']);
    for (const collection of ['dem-hillshade', 'dem-slope']) {
      expect(outcomes.get(collection), JSON.stringify(outcomes.get(collection))).toMatchObject({ status: 'completed', items: 1, failures: [], instanceId: `${job.id}-derived-${collection}` });
    }
    expect(outcomes.get('dem-ndi')).toMatchObject({ status: 'failed', items: 0, failureCount: 1, failures: [{ code: 'INVALID_INPUT', retryable: false, message: expect.stringMatching(/names band 2, and the source item has 1 band/) }] });

    // The derived items are published in their collections, linked to the source item.
    const itemId = job.output && 'tiles' in job.output ? job.output.tiles[0]!.itemId : '';
    for (const [collection, product] of [
      ['dem-hillshade', 'hillshade'],
      ['dem-slope', 'slope'],
    ] as const) {
      const item = (await env.store.readJson<StacItem>(itemBlob(collection, itemId)))?.value;
      expect(item?.properties['raster-ingest:derived_product']).toBe(product);
      expect(item?.links.filter((link) => link.rel === 'derived_from').map((link) => link.href)).toEqual([env.store.url(itemBlob('dem', itemId)), env.store.url(collectionBlob('dem'))]);
      const document = (await env.store.readJson<StacCollection>(collectionBlob(collection)))?.value;
      expect(document && collectionItemCount(document)).toBe(1);
    }
    expect(await env.store.readJson(collectionBlob('dem-ndi'))).toBeUndefined();

    // The DEM is deleted: the removal (BlobDeleted through the host's Event Grid stand-in) takes its derived products too.
    await env.store.delete({ container: 'uploads', name: 'dem/alps.tif' });
    for (const collection of ['dem-hillshade', 'dem-slope']) {
      await expect.poll(async () => (await env.store.readJson(itemBlob(collection, itemId)))?.value, { timeout: 90_000, interval: 500 }).toBeUndefined();
      await expect.poll(async () => env.store.list('cogs', `${collection}/`).then((names) => names.filter((name) => name.endsWith('.tif') && !name.includes('.mosaic.') && !name.includes('.overview.'))), { timeout: 60_000, interval: 500 }).toEqual([]);
      await expect.poll(async () => collectionItemCount((await env.store.readJson<StacCollection>(collectionBlob(collection)))!.value), { timeout: 60_000, interval: 500 }).toBe(0);
    }
  }, 300_000);
});
