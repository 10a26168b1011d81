/**
 * Walks a static STAC catalog the way a client does: from a catalog or collection down its
 * `child` links, collecting `item` links without opening the items. For tests and tools that
 * check the catalog is browsable (every item reachable, every document small).
 */
import pLimit from 'p-limit';
import { containers } from '../config.js';
import type { BlobStore } from '../storage/blob.store.js';
import type { StacLink } from './stac.types.js';

export interface WalkedDocument {
  url: string;
  type: string;
  bytes: number;
  /** How many `child` links it has that were followed, and how many `item` links. */
  childCount: number;
  itemCount: number;
}

export interface CatalogWalk {
  documents: WalkedDocument[];
  /** Every `item` href, in the order found (duplicates kept, so a caller can see them). */
  itemUrls: string[];
  /** `child` links that led nowhere. */
  missing: string[];
}

/** `read` returns a document's text, or `undefined` when there is none; `follow` may skip children (e.g. other collections). */
export async function walkCatalog(
  startUrl: string,
  read: (url: string) => Promise<string | undefined>,
  options: { concurrency?: number; follow?: (link: StacLink, from: string) => boolean } = {},
): Promise<CatalogWalk> {
  const limit = pLimit(options.concurrency ?? 16);
  const walk: CatalogWalk = { documents: [], itemUrls: [], missing: [] };
  const seen = new Set<string>();
  const visit = async (url: string): Promise<void> => {
    if (seen.has(url)) return;
    seen.add(url);
    const text = await limit(() => read(url));
    if (text === undefined) {
      walk.missing.push(url);
      return;
    }
    const document = JSON.parse(text) as { type?: unknown; links?: StacLink[] };
    const links = Array.isArray(document.links) ? document.links : [];
    const children = links.filter((link) => link.rel === 'child' && (options.follow?.(link, url) ?? true));
    const items = links.filter((link) => link.rel === 'item');
    walk.documents.push({ url, type: String(document.type), bytes: Buffer.byteLength(text), childCount: children.length, itemCount: items.length });
    walk.itemUrls.push(...items.map((link) => link.href));
    await Promise.all(children.map((link) => visit(link.href)));
  };
  await visit(startUrl);
  return walk;
}

/** `walkCatalog` over documents in the `stac` container of `store`, read by their URLs (which `store.url` made). */
export function walkStoredCatalog(store: BlobStore, startUrl: string, options: Parameters<typeof walkCatalog>[2] = {}): Promise<CatalogWalk> {
  const marker = 'x';
  const containerUrl = store.url({ container: containers.stac, name: marker }).slice(0, -marker.length);
  return walkCatalog(
    startUrl,
    async (url) => {
      if (!url.startsWith(containerUrl)) throw new Error(`${url} is not in the ${containers.stac} container`);
      return (await store.readBytes({ container: containers.stac, name: decodeURIComponent(url.slice(containerUrl.length)) }))?.toString('utf8');
    },
    options,
  );
}
