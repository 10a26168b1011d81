/**
 * The `BlobStore` contract, as tests: run against every implementation (the in-memory twin in
 * test/unit, the Azure one on Azurite in test/integration), so the twin cannot drift from what
 * storage does.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError, WriteConflictError, type BlobStore } from '../../src/storage/blob.store.js';

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function expectStoreError(error: unknown, kind: StoreError['kind']): void {
  expect(error).toBeInstanceOf(StoreError);
  expect((error as StoreError).kind).toBe(kind);
}

export function describeBlobStoreContract(name: string, createStore: () => BlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    const store = createStore();
    const folder = mkdtempSync(join(tmpdir(), 'blob-contract-'));
    afterAll(() => rmSync(folder, { recursive: true, force: true }));
    /** A container of its own per test, so runs sharing one Azurite never meet. */
    const container = (): string => `contract-${randomUUID().slice(0, 13)}`;

    it('answers a missing blob or container with nothing, not an error', async () => {
      const ref = { container: container(), name: 'a/missing.json' };
      expect(await store.stat(ref)).toBeUndefined();
      expect(await store.readBytes(ref)).toBeUndefined();
      expect(await store.readJson(ref)).toBeUndefined();
      expect(await store.list(ref.container, '')).toEqual([]);
      expect(await store.listPage(ref.container, '', undefined, 10)).toEqual({ blobs: [], continuationToken: undefined });
      expect(await store.openRead(ref)).toEqual({ ok: false, reason: 'missing' });
      await store.ensureContainer(ref.container);
      expect(await store.stat(ref)).toBeUndefined();
      await expect(store.readRange(ref, 0, 4)).rejects.toSatisfy((error) => error instanceof StoreError && error.kind === 'not-found');
      await expect(store.downloadToFile(ref, join(folder, 'missing'))).rejects.toSatisfy((error) => error instanceof StoreError && error.kind === 'not-found');
      await store.delete(ref);
    });

    it('writes and reads bytes and JSON with one quoted ETag per version', async () => {
      const ref = { container: container(), name: 'dir/value.json' };
      const written = await store.writeJson(ref, { a: 1 });
      expect(written.etag).toMatch(/^"[^"]+"$/);
      expect(written.url).toBe(store.url(ref));
      const stat = await store.stat(ref);
      expect(stat).toMatchObject({ etag: written.etag, size: Buffer.byteLength(JSON.stringify({ a: 1 }, null, 2)), contentType: 'application/json' });
      expect(stat!.lastModified).toBeInstanceOf(Date);
      expect(await store.readJson(ref)).toEqual({ value: { a: 1 }, etag: written.etag });
      const replaced = await store.uploadBytes(ref, Buffer.from('plain'), 'text/plain');
      expect(replaced.etag).not.toBe(written.etag);
      expect((await store.readBytes(ref))?.toString('utf8')).toBe('plain');
      expect((await store.stat(ref))?.contentType).toBe('text/plain');
    });

    it('writes only if the blob is new (If-None-Match: *), or unchanged (If-Match): a lost race is a WriteConflictError', async () => {
      const ref = { container: container(), name: 'race.json' };
      const first = await store.writeJson(ref, { n: 1 }, { ifNoneExists: true });
      const again = await store.writeJson(ref, { n: 2 }, { ifNoneExists: true }).catch((error: unknown) => error);
      expect(again).toBeInstanceOf(WriteConflictError);
      expectStoreError(again, 'conflict');
      const second = await store.writeJson(ref, { n: 2 }, { ifMatch: first.etag });
      const stale = await store.writeJson(ref, { n: 3 }, { ifMatch: first.etag }).catch((error: unknown) => error);
      expect(stale).toBeInstanceOf(WriteConflictError);
      expectStoreError(stale, 'precondition');
      expect(await store.readJson(ref)).toEqual({ value: { n: 2 }, etag: second.etag });
      // If-Match on a blob that is not there cannot hold either.
      const gone = await store.writeJson({ ...ref, name: 'never.json' }, { n: 1 }, { ifMatch: first.etag }).catch((error: unknown) => error);
      expect(gone).toBeInstanceOf(WriteConflictError);
    });

    it('downloads pinned to an ETag: precondition once replaced, not-found once deleted', async () => {
      const ref = { container: container(), name: 'source.bin' };
      const local = join(folder, `${randomUUID()}.bin`);
      const { etag } = await store.uploadBytes(ref, Buffer.from('version one'), 'application/octet-stream');
      await store.downloadToFile(ref, local, etag);
      expect(readFileSync(local, 'utf8')).toBe('version one');
      await store.uploadBytes(ref, Buffer.from('version two'), 'application/octet-stream');
      expectStoreError(await store.downloadToFile(ref, local, etag).catch((error: unknown) => error), 'precondition');
      await store.delete(ref);
      // (Azurite answers 412 here, Azure 404: the Azure store tells the two apart.)
      expectStoreError(await store.downloadToFile(ref, local, etag).catch((error: unknown) => error), 'not-found');
    });

    it('uploads a local file', async () => {
      const ref = { container: container(), name: 'up/file.txt' };
      const local = join(folder, `${randomUUID()}.txt`);
      await import('node:fs/promises').then((fs) => fs.writeFile(local, 'from disk'));
      const { etag } = await store.uploadFile(ref, local, 'text/plain');
      expect(await store.stat(ref)).toMatchObject({ etag, size: 9, contentType: 'text/plain' });
    });

    it('streams a blob pinned to its ETag: changed once replaced', async () => {
      const ref = { container: container(), name: 'stream.txt' };
      const { etag } = await store.uploadBytes(ref, Buffer.from('streamed bytes'), 'text/plain');
      const opened = await store.openRead(ref, etag);
      expect(opened.ok).toBe(true);
      if (opened.ok) expect(await readStream(opened.stream)).toBe('streamed bytes');
      const unpinned = await store.openRead(ref);
      if (unpinned.ok) expect(await readStream(unpinned.stream)).toBe('streamed bytes');
      await store.uploadBytes(ref, Buffer.from('new'), 'text/plain');
      expect(await store.openRead(ref, etag)).toEqual({ ok: false, reason: 'changed' });
    });

    it('reads byte ranges: within, and to the end', async () => {
      const ref = { container: container(), name: 'range.bin' };
      await store.uploadBytes(ref, Buffer.from('0123456789'), 'application/octet-stream');
      expect((await store.readRange(ref, 2, 3)).toString()).toBe('234');
      expect((await store.readRange(ref, 7)).toString()).toBe('789');
      expect((await store.readRange(ref, 0)).toString()).toBe('0123456789');
      // A range past the end is the caller's mistake (the SDK fails it mid-stream): callers clamp to the size.
      await expect(store.readRange(ref, 8, 100)).rejects.toThrow();
    });

    it('lists by name in pages, under a prefix, with the ETags stat gives', async () => {
      const name = container();
      const written = new Map<string, string>();
      for (const blob of ['p/c', 'p/a', 'q/z', 'p/b/1', 'p/b/0']) {
        written.set(blob, (await store.uploadBytes({ container: name, name: blob }, Buffer.from(blob), 'text/plain')).etag);
      }
      expect(await store.list(name, 'p/')).toEqual(['p/a', 'p/b/0', 'p/b/1', 'p/c']);
      expect(await store.list(name, '')).toEqual(['p/a', 'p/b/0', 'p/b/1', 'p/c', 'q/z']);
      const pages: string[][] = [];
      let token: string | undefined;
      do {
        const page = await store.listPage(name, 'p/', token, 3);
        for (const blob of page.blobs) expect(blob).toMatchObject({ etag: written.get(blob.name), size: blob.name.length, contentType: 'text/plain' });
        pages.push(page.blobs.map((blob) => blob.name));
        token = page.continuationToken;
      } while (token);
      expect(pages).toEqual([['p/a', 'p/b/0', 'p/b/1'], ['p/c']]);
    });

    it('deletes idempotently', async () => {
      const ref = { container: container(), name: 'gone.txt' };
      await store.uploadBytes(ref, Buffer.from('x'), 'text/plain');
      await store.delete(ref);
      expect(await store.stat(ref)).toBeUndefined();
      await store.delete(ref);
      expect(await store.list(ref.container, '')).toEqual([]);
    });

    it('deletes under an ETag condition only the version read: a replaced blob is a lost race, a gone one is not an error', async () => {
      const ref = { container: container(), name: 'record.json' };
      const first = await store.uploadBytes(ref, Buffer.from('1'), 'application/json');
      const second = await store.uploadBytes(ref, Buffer.from('2'), 'application/json');
      const lost = await store.delete(ref, { ifMatch: first.etag }).catch((error: unknown) => error);
      expect(lost).toBeInstanceOf(WriteConflictError);
      expect((await store.readBytes(ref))?.toString()).toBe('2');
      await store.delete(ref, { ifMatch: second.etag });
      expect(await store.stat(ref)).toBeUndefined();
      await store.delete(ref, { ifMatch: second.etag });
    });

    it('gives each version of a blob its own read URL', async () => {
      const ref = { container: container(), name: 'versioned.tif' };
      const first = await store.uploadBytes(ref, Buffer.from('1'), 'image/tiff');
      const second = await store.uploadBytes(ref, Buffer.from('2'), 'image/tiff');
      const [a, b] = await Promise.all([store.readUrl(ref, { version: first.etag }), store.readUrl(ref, { version: second.etag })]);
      expect(a.startsWith(store.url(ref))).toBe(true);
      expect(a).not.toBe(b);
    });
  });
}
