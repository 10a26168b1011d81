/**
 * The read–change–write loop given a read the caller already made (`known`, issue 22: finalize
 * reads the collection once, not twice): the first attempt starts from it without reading, and a
 * change made since it was read is never lost (the conditional write fails, the next attempt reads).
 */
import { describe, expect, it } from 'vitest';
import { updateJsonBlob } from '../../src/activities/json.blob.update.js';
import { MemoryBlobStore } from '../support/memory.blob.store.js';

const ref = { container: 'stac', name: 'dems/collection.json' };

describe('updateJsonBlob with a known read', () => {
  it('starts from the known read without reading again', async () => {
    const store = new MemoryBlobStore();
    await store.writeJson(ref, { items: ['a'] });
    const known = (await store.readJson<{ items: string[] }>(ref))!;
    const reads = store.calls.get('readJson') ?? 0;
    await updateJsonBlob<{ items: string[] }>(store, ref, (current) => ({ items: [...(current?.items ?? []), 'b'] }), { known });
    expect(store.calls.get('readJson') ?? 0).toBe(reads);
    expect((await store.readJson(ref))!.value).toEqual({ items: ['a', 'b'] });
  });

  it('keeps a change made after the known read: the write fails, the next attempt reads and merges', async () => {
    const store = new MemoryBlobStore();
    await store.writeJson(ref, { items: ['a'] });
    const known = (await store.readJson<{ items: string[] }>(ref))!;
    await store.writeJson(ref, { items: ['a', 'other'] });
    await updateJsonBlob<{ items: string[] }>(store, ref, (current) => ({ items: [...(current?.items ?? []), 'b'] }), { known });
    expect((await store.readJson(ref))!.value).toEqual({ items: ['a', 'other', 'b'] });
  });

  it('takes a known absence as absent: a blob created since makes the first write fail, and the next one merges', async () => {
    const store = new MemoryBlobStore();
    await store.writeJson(ref, { items: ['other'] });
    await updateJsonBlob<{ items: string[] }>(store, ref, (current) => ({ items: [...(current?.items ?? []), 'b'] }), { known: null });
    expect((await store.readJson(ref))!.value).toEqual({ items: ['other', 'b'] });
  });
});
