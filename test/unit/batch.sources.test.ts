/**
 * The batch's listing activity (on the in-memory store): a manifest is read and parsed once per batch, however
 * many pages it takes (each page used to download and parse the whole manifest again), its parsed
 * entries are paged from their parts and deleted after the last page, and a page whose parts are
 * gone (a batch that began before them) parses the manifest again.
 */
import { describe, expect, it, vi } from 'vitest';
import { createListBatchSources } from '../../src/activities/batch.sources.js';
import { deleteParsedManifestsBefore, entriesPerPart, parsedManifestContainer, parsedManifestFolder, writeParsedManifest } from '../../src/batches/manifest.pages.js';
import type { BatchSelection, BatchSourcePage, ListBatchSourcesInput } from '../../src/pipeline/contracts.js';
import { FailureError } from '../../src/pipeline/failure.js';
import { readIngestSettings } from '../../src/config.js';
import { MemoryBlobStore } from '../support/memory.blob.store.js';

/** What the listing activity needs: a store and the settings (no Azurite, no GDAL). */
const store = new MemoryBlobStore();
const deps = { store, settings: readIngestSettings({}) };
const runId = 'run';

/**
 * A CSV of `count` entries: every 250th names a real blob, every 7th is a quoted field holding a
 * newline and a comma (one entry, not two), the rest name blobs in a container no batch may read
 * (reported missing without a storage call).
 */
function manifestOf(folder: string, count: number): { csv: string; expected: string[]; real: string[] } {
  const lines = ['id,source,note'];
  const expected: string[] = [];
  const real: string[] = [];
  for (let i = 0; i < count; i++) {
    const entry = i % 250 === 0 ? `uploads/${folder}/s-${i}.tif` : `nope/${folder}/e-${i}.tif`;
    if (i % 250 === 0) real.push(entry);
    expected.push(entry);
    lines.push(i % 7 === 3 ? `${i},"${entry}","a note, over\ntwo lines"` : `${i},${entry},plain`);
  }
  return { csv: lines.join('\r\n'), expected, real };
}

async function uploadManifest(name: string, csv: string): Promise<Extract<BatchSelection, { kind: 'manifest' }>> {
  const ref = { container: 'uploads', name: `${runId}/${name}` };
  await store.uploadBytes(ref, Buffer.from(csv), 'text/csv');
  return { kind: 'manifest', container: ref.container, name: ref.name, etag: (await store.stat(ref))!.etag };
}

/** Every page of the listing, as the batch orchestrator asks for them. */
async function listAll(input: Omit<ListBatchSourcesInput, 'cursor' | 'taken'>, startCursor: string | null = null): Promise<BatchSourcePage[]> {
  const list = createListBatchSources(deps);
  const pages: BatchSourcePage[] = [];
  let cursor = startCursor;
  let taken = 0;
  do {
    const page = await list({ ...input, cursor, taken });
    pages.push(page);
    taken += page.sources.length;
    cursor = page.cursor;
  } while (cursor !== null);
  return pages;
}

async function parsedBlobs(selection: Extract<BatchSelection, { kind: 'manifest' }>): Promise<string[]> {
  return store.list(parsedManifestContainer, parsedManifestFolder(selection));
}

describe('listing a manifest batch', () => {
  it('reads and parses the manifest once for all its pages, and deletes its parsed entries after the last', async () => {
      const { csv, expected, real } = manifestOf(`${runId}/scenes`, 2600);
    for (const entry of real) await store.uploadBytes({ container: 'uploads', name: entry.slice('uploads/'.length) }, Buffer.from('x'), 'image/tiff');
    const selection = await uploadManifest('scenes.csv', csv);
    const openRead = vi.spyOn(store, 'openRead');
    const readBytes = vi.spyOn(store, 'readBytes');
    const readRange = vi.spyOn(store, 'readRange');

    // Pages of 700 cross the parts of 1,000 entries.
    const pages = await listAll({ selection, filters: {}, pageSize: 700 });
    expect(pages).toHaveLength(4);
    const manifestReads = [...openRead.mock.calls, ...readBytes.mock.calls, ...readRange.mock.calls].filter(([ref]) => ref.name === selection.name);
    expect(manifestReads).toHaveLength(1);
    expect(pages.flatMap((page) => page.sources.map((source) => `${source.container}/${source.name}`))).toEqual(real);
    const missing = pages.flatMap((page) => page.missing.map((entry) => entry.entry));
    expect([...pages.flatMap((page) => page.sources.map((source) => `${source.container}/${source.name}`)), ...missing].sort()).toEqual([...expected].sort());
    expect(pages.map((page) => page.cursor)).toEqual(['700', '1400', '2100', null]);
    expect(await parsedBlobs(selection)).toEqual([]);
    openRead.mockRestore();
    readBytes.mockRestore();
    readRange.mockRestore();
  });

  it('parses again when a later page finds no parsed entries (a batch listed before they existed), then pages from them', async () => {
    const { csv, expected } = manifestOf(`${runId}/resumed`, 2 * entriesPerPart + 10);
    const selection = await uploadManifest('resumed.csv', csv);
    const openRead = vi.spyOn(store, 'openRead');
    const pages = await listAll({ selection, filters: {}, pageSize: 600 }, '900');
    expect(openRead.mock.calls.filter(([ref]) => ref.name === selection.name)).toHaveLength(1);
    expect(pages.flatMap((page) => page.missing.map((entry) => entry.entry))).toEqual(expected.slice(900));
    expect(await parsedBlobs(selection)).toEqual([]);
    openRead.mockRestore();
  });

  it('deletes the parsed entries when the batch reaches its limit before the manifest’s end', async () => {
      const names = Array.from({ length: 30 }, (_, i) => `uploads/${runId}/limited/s-${i}.tif`);
    for (const name of names) await store.uploadBytes({ container: 'uploads', name: name.slice('uploads/'.length) }, Buffer.from('x'), 'image/tiff');
    const selection = await uploadManifest('limited.txt', names.join('\n'));
    const pages = await listAll({ selection, filters: { limit: 15 }, pageSize: 10 });
    expect(pages.flatMap((page) => page.sources)).toHaveLength(15);
    expect(await parsedBlobs(selection)).toEqual([]);
  });

  it('refuses a manifest over its limits with INPUT_LIMIT, and a replaced one with SOURCE_CHANGED', async () => {
    const list = createListBatchSources(deps);
    const long = await uploadManifest('long.txt', `uploads/a.tif\nuploads/${'x'.repeat(5000)}.tif\n`);
    await expect(list({ selection: long, filters: {}, cursor: null, pageSize: 10, taken: 0 })).rejects.toSatisfy(
      (error) => error instanceof FailureError && error.failure.code === 'INPUT_LIMIT' && /entry 2 is 5012 characters long/.test(error.failure.message) && !error.failure.message.includes('xxxx'),
    );
    const replaced = await uploadManifest('replaced.txt', 'uploads/a.tif\n');
    await store.uploadBytes({ container: 'uploads', name: replaced.name }, Buffer.from('uploads/b.tif\n'), 'text/plain');
    await expect(list({ selection: replaced, filters: {}, cursor: null, pageSize: 10, taken: 0 })).rejects.toSatisfy((error) => error instanceof FailureError && error.failure.code === 'SOURCE_CHANGED');
  });

  it('leaves no parsed entries behind past the retention period (the retention timer sweeps them)', async () => {
    const folder = parsedManifestFolder({ container: 'uploads', name: `${runId}/left-behind.txt`, etag: '"0x1"' });
    await writeParsedManifest(store, folder, Array.from({ length: entriesPerPart + 1 }, (_, i) => `uploads/${i}.tif`));
    expect(await store.list(parsedManifestContainer, folder)).toHaveLength(3);
    expect(await deleteParsedManifestsBefore(store, new Date(Date.now() - 3_600_000))).toBe(0);
    expect(await deleteParsedManifestsBefore(store, new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(3);
    expect(await store.list(parsedManifestContainer, folder)).toEqual([]);
  });
});
