/**
 * A prefix batch over blobs whose names no job may read (control characters, a backslash, a
 * trailing "."): each is listed as missing with its reason, bounded, instead of being dropped
 * without a word (a batch over 13 blobs said "10 in all"; found by probing with such names).
 */
import { describe, expect, it } from 'vitest';
import { createListBatchSources } from '../../src/activities/batch.sources.js';
import { readIngestSettings } from '../../src/config.js';
import { MemoryBlobStore } from '../support/memory.blob.store.js';

describe('a prefix batch over junk blob names', () => {
  it('lists the good names as sources and every junk name as missing, with its reason', async () => {
    const store = new MemoryBlobStore();
    const good = ['junk/good.tif', 'junk/ünïcödé-🙂.tif', `junk/${'x'.repeat(1024 - 'junk/'.length - 4)}.tif`];
    const junk = ['junk/ctl\u0001\u001b[31mred\u0007.tif', 'junk/tab\tnew\nline.tif', 'junk/back\\slash\\..\\x.tif', 'junk/trailing.', `junk/${'z'.repeat(1100)}.tif`];
    for (const name of [...good, ...junk]) await store.uploadBytes({ container: 'uploads', name }, Buffer.from('bytes'), 'image/tiff');
    const list = createListBatchSources({ store, settings: readIngestSettings({}) });

    const page = await list({ selection: { kind: 'prefix', container: 'uploads', prefix: 'junk/' }, filters: {}, cursor: null, pageSize: 100, taken: 0 });

    expect(page.sources.map((source) => source.name).sort()).toEqual([...good].sort());
    expect(page.missing).toHaveLength(junk.length);
    for (const missing of page.missing) {
      expect(missing.entry.length).toBeLessThanOrEqual(200);
      expect(missing.reason).toMatch(/control characters|backslash|ends with|characters long/);
    }
  });

  it('reports nothing the include glob leaves out', async () => {
    const store = new MemoryBlobStore();
    await store.uploadBytes({ container: 'uploads', name: 'junk2/a.tif' }, Buffer.from('bytes'), 'image/tiff');
    await store.uploadBytes({ container: 'uploads', name: 'junk2/notes\u0001.txt' }, Buffer.from('bytes'), 'text/plain');
    const list = createListBatchSources({ store, settings: readIngestSettings({}) });

    const page = await list({ selection: { kind: 'prefix', container: 'uploads', prefix: 'junk2/' }, filters: { include: '**/*.tif' }, cursor: null, pageSize: 100, taken: 0 });

    expect(page.sources.map((source) => source.name)).toEqual(['junk2/a.tif']);
    expect(page.missing).toEqual([]);
  });
});
