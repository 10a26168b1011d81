/**
 * A manifest's parsed entries, kept where the batch's later pages read them: the first page
 * parses the manifest (once), and when more pages follow writes its entries in parts of
 * `entriesPerPart` beside an index; each later page reads the one or two parts it needs instead
 * of reading and parsing the whole manifest again (which made a batch quadratic in its manifest).
 *
 * Keyed by the manifest's version (container, name, ETag) and the parser's version, so batches of
 * the same manifest share them and a changed manifest or parser never reads stale entries. The
 * last page deletes them; the retention timer deletes any left behind (a batch that failed or
 * stopped at its `limit`). A part that is missing (deleted by another batch of the same manifest
 * finishing first) makes the reader parse the manifest again: correct, only slower.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { containers } from '../config.js';
import type { BlobStore } from '../storage/blob.store.js';

/** Provisioned with the app's other containers (and created on first use locally); private like `uploads`. */
export const parsedManifestContainer = containers.batchManifests;

export const entriesPerPart = 1000;

/** Bumped when the parser reads a manifest differently: entries parsed before are not reused. */
const parserVersion = 2;

const writeConcurrency = 8;

interface ParsedManifestIndex {
  parser: number;
  entries: number;
  perPart: number;
}

export interface ManifestVersion {
  container: string;
  name: string;
  etag: string;
}

/** The folder of one manifest version's parsed entries. */
export function parsedManifestFolder(manifest: ManifestVersion): string {
  return `${createHash('sha256').update(`${parserVersion}\n${manifest.container}/${manifest.name}\n${manifest.etag}`).digest('hex').slice(0, 40)}/`;
}

const indexRef = (folder: string) => ({ container: parsedManifestContainer, name: `${folder}index.json` });
const partRef = (folder: string, part: number) => ({ container: parsedManifestContainer, name: `${folder}part-${String(part).padStart(6, '0')}.json` });

/** Writes every part, then the index (a reader that finds the index finds the parts). */
export async function writeParsedManifest(store: BlobStore, folder: string, entries: readonly string[]): Promise<void> {
  const limit = pLimit(writeConcurrency);
  const parts = Math.ceil(entries.length / entriesPerPart);
  await Promise.all(
    Array.from({ length: parts }, (_, part) =>
      limit(() => store.uploadBytes(partRef(folder, part), Buffer.from(JSON.stringify(entries.slice(part * entriesPerPart, (part + 1) * entriesPerPart))), 'application/json')),
    ),
  );
  const index: ParsedManifestIndex = { parser: parserVersion, entries: entries.length, perPart: entriesPerPart };
  await store.uploadBytes(indexRef(folder), Buffer.from(JSON.stringify(index)), 'application/json');
}

function isIndex(value: unknown): value is ParsedManifestIndex {
  if (typeof value !== 'object' || value === null) return false;
  const { parser, entries, perPart } = value as Record<string, unknown>;
  return parser === parserVersion && Number.isSafeInteger(entries) && perPart === entriesPerPart;
}

/** `count` entries from `offset` and how many there are in all, or `undefined` when any part of them is gone. */
export async function readParsedPage(store: BlobStore, folder: string, offset: number, count: number): Promise<{ entries: string[]; total: number } | undefined> {
  const index = await store.readJson<unknown>(indexRef(folder));
  if (!index || !isIndex(index.value)) return undefined;
  const total = index.value.entries;
  const end = Math.min(offset + count, total);
  const entries: string[] = [];
  for (let part = Math.floor(offset / entriesPerPart); part * entriesPerPart < end; part++) {
    const stored = await store.readJson<unknown>(partRef(folder, part));
    if (!stored || !Array.isArray(stored.value) || !stored.value.every((entry) => typeof entry === 'string')) return undefined;
    const from = Math.max(offset - part * entriesPerPart, 0);
    const to = Math.min(end - part * entriesPerPart, entriesPerPart);
    entries.push(...(stored.value as string[]).slice(from, to));
  }
  return { entries, total };
}

/** Deletes the index, then the parts (a reader that finds the index gone parses again); `total` entries, else read from the index. */
export async function deleteParsedManifest(store: BlobStore, folder: string, total?: number): Promise<void> {
  if (total === undefined) {
    const index = await store.readJson<unknown>(indexRef(folder));
    if (!index || !isIndex(index.value)) return;
    total = index.value.entries;
  }
  await store.delete(indexRef(folder));
  const limit = pLimit(writeConcurrency);
  await Promise.all(Array.from({ length: Math.ceil(total / entriesPerPart) }, (_, part) => limit(() => store.delete(partRef(folder, part)))));
}

/** Deletes parsed entries last written before `cutoff` (left by batches that did not reach their last page); returns how many blobs. */
export async function deleteParsedManifestsBefore(store: BlobStore, cutoff: Date): Promise<number> {
  let deleted = 0;
  let continuationToken: string | undefined;
  do {
    const page = await store.listPage(parsedManifestContainer, '', continuationToken, 1000);
    for (const blob of page.blobs) {
      if (blob.lastModified && blob.lastModified.getTime() < cutoff.getTime()) {
        await store.delete({ container: parsedManifestContainer, name: blob.name });
        deleted++;
      }
    }
    continuationToken = page.continuationToken;
  } while (continuationToken);
  return deleted;
}
