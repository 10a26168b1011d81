/**
 * The STAC API client against the loopback STAC API in test/support/stac.api.server.ts. No STAC
 * API server (stac-fastapi, Planetary Computer Pro) installs on this machine; the loopback server
 * keeps the Transaction extension's status codes (409, 404, 412, 204/404 on DELETE) and can
 * inject busy answers and dropped connections.
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RegisteredItem, TileCog } from '../../src/pipeline/contracts.js';
import { collectionForApi, mergeCollection, summarizeItems } from '../../src/stac/collection.build.js';
import { buildTileItem } from '../../src/stac/item.build.js';
import {
  StacApiClient,
  StacApiConflictError,
  StacApiError,
  StacApiUnavailableError,
  extractServerMessage,
  parseRetryAfter,
  withoutInferredLinks,
  type StacApiClientOptions,
} from '../../src/stac/stac.api.client.js';
import type { StacCollection, StacItem } from '../../src/stac/stac.types.js';
import { createAzureStacApiClient, createAzureTokenProvider, planetaryComputerProScope } from '../../src/stac/stac.api.token.js';
import { startLoopbackStacApi, type LoopbackStacApi } from '../support/stac.api.server.js';
import { base, itemUrls, sampleSource, sampleTile } from '../support/stac.sample.js';
import { StacValidator } from '../support/stac.validator.js';


const datetime = '2026-11-25T17:00:00.000Z';

function buildItem(overrides: Partial<TileCog> = {}): StacItem {
  return buildTileItem({ collection: 'dems', tile: sampleTile(overrides), datetime, source: sampleSource, urls: itemUrls });
}

function registered(item: StacItem): RegisteredItem {
  return { itemId: item.id, itemUrl: `${base}/stac/dems/${item.id}/${item.id}.json`, cogUrl: item.assets['data']!.href, cogBytes: 123456, bbox: item.bbox, projCode: 'EPSG:32633' };
}

/** The collection after adding `items`, each as a part of its own (the merge under test is the API client's, not the catalog's). */
function mergeItems(existing: StacCollection | undefined, items: StacItem[]): StacCollection {
  const shards = items.map((item) => ({ shard: item.id, url: `${base}/stac/dems/catalogs/${item.id}.json`, summary: summarizeItems([registered(item)], datetime) }));
  return mergeCollection(existing, { collectionId: 'dems', datetime, urls: { collection: itemUrls.collection, catalog: itemUrls.catalog }, shards });
}

/** The items a collection built by `mergeItems` holds, by id. */
function itemIdsOf(collection: StacCollection | undefined): string[] {
  return Object.keys(collection?.['raster-ingest:shards'] ?? {}).sort();
}

function buildCollection(items: StacItem[] = [buildItem()]): StacCollection {
  return mergeItems(undefined, items);
}

let api: LoopbackStacApi;

function client(overrides: Partial<StacApiClientOptions> = {}): StacApiClient {
  // Back-off of a few milliseconds: the tests count attempts, never time them.
  return new StacApiClient({ baseUrl: api.url, initialDelayMs: 1, maxDelayMs: 4, ...overrides });
}

beforeAll(async () => {
  api = await startLoopbackStacApi();
});
afterAll(async () => {
  await api?.close();
});
beforeEach(() => {
  api.clear();
});

describe('StacApiClient: create, then upsert', () => {
  it('creates with POST (201) and replaces on 409 with GET + PUT If-Match', async () => {
    const stac = client();
    const collection = buildCollection();
    expect(await stac.upsertCollection(collection)).toMatchObject({ outcome: 'created', status: 201, url: `${api.url}/collections/dems` });
    const item = buildItem();
    const created = await stac.upsertItem('dems', item);
    expect(created).toMatchObject({ outcome: 'created', status: 201, url: `${api.url}/collections/dems/items/dem-r0-c1` });
    expect(created.etag).toMatch(/^".+"$/);

    const changed = { ...item, properties: { ...item.properties, title: 'second ingest' } };
    const replaced = await stac.upsertItem('dems', changed);
    expect(replaced.outcome).toBe('replaced');
    expect(api.item('dems', 'dem-r0-c1')?.['properties']).toMatchObject({ title: 'second ingest' });
    expect(api.requestLines()).toEqual([
      'POST /collections 201',
      'POST /collections/dems/items 201',
      'POST /collections/dems/items 409',
      'GET /collections/dems/items/dem-r0-c1 200',
      'PUT /collections/dems/items/dem-r0-c1 204',
    ]);
    // The PUT carried the ETag the GET returned.
    expect(api.requests[4]!.ifMatch).toBe(created.etag);

    const collectionAgain = await stac.upsertCollection({ ...collection, title: 'DEMs' });
    expect(collectionAgain.outcome).toBe('replaced');
    expect(api.collection('dems')?.['title']).toBe('DEMs');
  });

  it('is idempotent: upserting the same item twice leaves one item with the same content', async () => {
    const stac = client();
    await stac.upsertCollection(buildCollection());
    const item = buildItem();
    await stac.upsertItem('dems', item);
    await stac.upsertItem('dems', item);
    expect(api.items.get('dems')?.size).toBe(1);
    expect(api.item('dems', item.id)).toEqual(JSON.parse(JSON.stringify(item)));
  });

  it('works with servers that send no ETag (PUT without If-Match) and with servers that require If-Match', async () => {
    const noEtags = await startLoopbackStacApi({ etags: false });
    const strict = await startLoopbackStacApi({ requireIfMatch: true });
    try {
      for (const server of [noEtags, strict]) {
        const stac = new StacApiClient({ baseUrl: server.url, initialDelayMs: 1 });
        await stac.upsertCollection(buildCollection());
        await stac.upsertItem('dems', buildItem());
        expect((await stac.upsertItem('dems', buildItem())).outcome).toBe('replaced');
      }
      expect(noEtags.requests.at(-1)).toMatchObject({ method: 'PUT', status: 204 });
      expect(noEtags.requests.at(-1)!.ifMatch).toBeUndefined();
      expect(strict.requests.at(-1)).toMatchObject({ method: 'PUT', status: 204 });
      expect(strict.requests.at(-1)!.ifMatch).toMatch(/^".+"$/);
    } finally {
      await noEtags.close();
      await strict.close();
    }
  });

  it('sends the query parameters Planetary Computer Pro needs and honours a base path', async () => {
    const pro = await startLoopbackStacApi({ basePath: '/stac' });
    try {
      const stac = new StacApiClient({ baseUrl: `${pro.url}/`, query: { 'api-version': '2025-04-30-preview' } });
      expect(stac.itemUrl('dems', 'a b')).toBe(`${pro.url}/collections/dems/items/a%20b?api-version=2025-04-30-preview`);
      await stac.upsertCollection(buildCollection());
      expect(pro.requests[0]).toMatchObject({ method: 'POST', path: '/collections', query: '?api-version=2025-04-30-preview', status: 201 });
    } finally {
      await pro.close();
    }
  });
});

describe('StacApiClient: ETag conflicts', () => {
  it('re-reads and retries when another writer changes the item between our GET and PUT (412)', async () => {
    const stac = client();
    await stac.upsertCollection(buildCollection());
    await stac.upsertItem('dems', buildItem());
    let interfered = false;
    api.onRequest(({ method, path }) => {
      if (method === 'PUT' && path === '/collections/dems/items/dem-r0-c1' && !interfered) {
        interfered = true;
        api.putItemDirectly('dems', { ...buildItem(), id: 'dem-r0-c1', properties: { ...buildItem().properties, title: 'other writer' } });
      }
    });
    api.requests.length = 0;
    const ours = { ...buildItem(), properties: { ...buildItem().properties, title: 'ours' } };
    expect((await stac.upsertItem('dems', ours)).outcome).toBe('replaced');
    expect(api.requestLines()).toEqual([
      'POST /collections/dems/items 409',
      'GET /collections/dems/items/dem-r0-c1 200',
      'PUT /collections/dems/items/dem-r0-c1 412',
      'GET /collections/dems/items/dem-r0-c1 200',
      'PUT /collections/dems/items/dem-r0-c1 204',
    ]);
    expect(api.requests[2]!.ifMatch).not.toBe(api.requests[4]!.ifMatch);
    expect(api.item('dems', 'dem-r0-c1')?.['properties']).toMatchObject({ title: 'ours' });
  });

  it('creates again when the item is deleted between our GET and PUT (404 on PUT)', async () => {
    const stac = client();
    await stac.upsertCollection(buildCollection());
    await stac.upsertItem('dems', buildItem());
    let deleted = false;
    api.onRequest(({ method }) => {
      if (method === 'PUT' && !deleted) {
        deleted = true;
        api.items.get('dems')!.delete('dem-r0-c1');
      }
    });
    api.requests.length = 0;
    expect((await stac.upsertItem('dems', buildItem())).outcome).toBe('created');
    expect(api.requestLines()).toEqual([
      'POST /collections/dems/items 409',
      'GET /collections/dems/items/dem-r0-c1 200',
      'PUT /collections/dems/items/dem-r0-c1 404',
      'POST /collections/dems/items 201',
    ]);
  });

  it('gives up with a clear error when the item changes under every attempt', async () => {
    const stac = client({ maxConflictRounds: 3 });
    await stac.upsertCollection(buildCollection());
    await stac.upsertItem('dems', buildItem());
    let n = 0;
    api.onRequest(({ method }) => {
      if (method === 'PUT') api.putItemDirectly('dems', { ...buildItem(), properties: { ...buildItem().properties, title: `writer ${++n}` } });
    });
    const failure = stac.upsertItem('dems', buildItem());
    await expect(failure).rejects.toThrow(StacApiConflictError);
    await expect(failure).rejects.toThrow(`STAC API ${api.url}/collections/dems/items/dem-r0-c1 kept changing`);
    expect(api.requests.filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([412, 412, 412]);
  });

  it('updateCollection merges with what another writer stored in between (read-modify-write under If-Match)', async () => {
    const stac = client();
    const first = buildItem();
    const second = buildItem({ itemId: 'dem-r0-c2', bbox: [15.1, 53.9, 15.2, 54] });
    const third = buildItem({ itemId: 'dem-r0-c3', bbox: [15.2, 53.9, 15.3, 54] });
    await stac.upsertCollection(buildCollection([first]));
    // Another finalizer adds `third` right before our PUT lands.
    let raced = false;
    api.onRequest(({ method, path }) => {
      if (method === 'PUT' && path === '/collections/dems' && !raced) {
        raced = true;
        const current = api.collection('dems') as unknown as StacCollection;
        api.putCollectionDirectly(mergeItems(current, [third]) as unknown as Record<string, unknown> & { id: string });
      }
    });
    const seen: Array<number> = [];
    const result = await stac.updateCollection<StacCollection>('dems', (existing) => {
      seen.push(existing ? itemIdsOf(existing).length : -1);
      return mergeItems(existing, [second]);
    });
    expect(result.outcome).toBe('replaced');
    expect(seen).toEqual([1, 2]); // called again with the other writer's collection
    const stored = api.collection('dems') as unknown as StacCollection;
    expect(itemIdsOf(stored)).toEqual(['dem-r0-c1', 'dem-r0-c2', 'dem-r0-c3']);
    expect(stored.extent.spatial.bbox).toEqual([[15, 53.9, 15.3, 54]]);
  });

  it('updateCollection creates the collection when there is none', async () => {
    const result = await client().updateCollection<StacCollection>('dems', (existing) => {
      expect(existing).toBeUndefined();
      return buildCollection();
    });
    expect(result.outcome).toBe('created');
    expect(api.collection('dems')).toEqual(JSON.parse(JSON.stringify(buildCollection())));
  });
});

describe('StacApiClient: transient failures (core-rest-pipeline\'s retry policy, the one retry layer)', () => {
  it('retries 503 with back-off, then succeeds', async () => {
    api.injectFaults(2, { kind: 503 });
    expect((await client().upsertCollection(buildCollection())).outcome).toBe('created');
    expect(api.requestLines()).toEqual(['POST /collections 503', 'POST /collections 503', 'POST /collections 201']);
  });

  it('honours Retry-After on 429, in seconds and as an HTTP date', async () => {
    api.injectFaults(1, { kind: 429, retryAfter: 0 });
    api.injectFaults(1, { kind: 429, retryAfter: new Date(0).toUTCString() });
    expect((await client().upsertCollection(buildCollection())).outcome).toBe('created');
    expect(api.requestLines()).toEqual(['POST /collections 429', 'POST /collections 429', 'POST /collections 201']);
    expect(parseRetryAfter('Wed, 25 Nov 2026 17:00:10 GMT', Date.parse('2026-11-25T17:00:00Z'))).toBe(10_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 16:00:00 GMT', Date.parse('2026-11-25T17:00:00Z'))).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('retries 500, 502 and 504 and dropped connections', async () => {
    api.injectFaults(1, { kind: 502 });
    api.injectFaults(1, { kind: 'drop' });
    api.injectFaults(1, { kind: 504 });
    api.injectFaults(1, { kind: 500 });
    expect((await client().upsertCollection(buildCollection())).outcome).toBe('created');
    expect(api.requests.map((r) => r.status)).toEqual([502, -1, 504, 500, 201]);
  });

  it('retries a refused connection, then reports the last problem', async () => {
    const closed = await startLoopbackStacApi();
    const url = closed.url;
    await closed.close();
    const failure = new StacApiClient({ baseUrl: url, maxAttempts: 3, initialDelayMs: 1 }).getCollection('dems');
    await expect(failure).rejects.toThrow(StacApiUnavailableError);
    await expect(failure).rejects.toThrow(new RegExp(`STAC API GET ${url}/collections/dems did not succeed after 3 attempt\\(s\\); last problem: .*ECONNREFUSED`));
  });

  it('gives up after the allowed attempts, naming the URL and the last status', async () => {
    api.injectFaults(5, { kind: 503 });
    await expect(client({ maxAttempts: 3 }).upsertCollection(buildCollection())).rejects.toThrow(
      `STAC API POST ${api.url}/collections did not succeed after 3 attempt(s); last problem: 503: ServiceUnavailable: injected 503`,
    );
    expect(api.requests).toHaveLength(3);
  });

  it('does not wait longer than allowed when the server asks for it', async () => {
    api.injectFaults(1, { kind: 503, retryAfter: 3600 });
    await expect(client({ maxRetryAfterMs: 60_000 }).upsertCollection(buildCollection())).rejects.toThrow(/asked to wait 3600 s, more than the 60 s allowed/);
    expect(api.requests).toHaveLength(1);
  });
});

describe('StacApiClient: permanent errors', () => {
  it('surfaces a 404 for items under a missing collection with URL, status and server message, without retrying', async () => {
    const failure = client().upsertItem('nope', { ...buildItem(), collection: 'nope' });
    await expect(failure).rejects.toThrow(StacApiError);
    await expect(failure).rejects.toThrow(`STAC API POST ${api.url}/collections/nope/items answered 404: NotFoundError: Collection nope does not exist`);
    const error = (await failure.catch((e: unknown) => e)) as StacApiError;
    expect(error).toMatchObject({ method: 'POST', status: 404, url: `${api.url}/collections/nope/items` });
    expect(api.requests).toHaveLength(1);
  });

  it('surfaces a 400 for a document the server rejects', async () => {
    await client().upsertCollection(buildCollection());
    const notAFeature = { ...buildItem(), type: 'FeatureCollection' } as unknown as StacItem;
    await expect(client().upsertItem('dems', notAFeature)).rejects.toThrow(/answered 400: BadRequest: Item dem-r0-c1: "type" must be "Feature"/);
  });

  it('refuses to send an item to a collection other than its own', async () => {
    await expect(client().upsertItem('rgb', buildItem())).rejects.toThrow('Item "dem-r0-c1" belongs to collection "dems", not "rgb"');
    expect(api.requests).toHaveLength(0);
  });

  it('reads the server message from the common error body conventions', () => {
    expect(extractServerMessage('{"code":"ConflictError","description":"exists"}')).toBe('ConflictError: exists');
    expect(extractServerMessage('{"detail":"Not Found"}')).toBe('Not Found');
    expect(extractServerMessage('{"error":{"code":"Forbidden","message":"no role"}}')).toBe('no role');
    expect(extractServerMessage('{"title":"Bad Request","status":400}')).toBe('Bad Request');
    expect(extractServerMessage('<html>gateway</html>')).toBe('<html>gateway</html>');
    expect(extractServerMessage('')).toBe('');
  });
});

describe('StacApiClient: authentication', () => {
  it('sends the bearer token from the provider and explains a 401', async () => {
    const secured = await startLoopbackStacApi({ token: 'token-1' });
    try {
      const authed = new StacApiClient({ baseUrl: secured.url, getToken: async () => 'token-1' });
      expect((await authed.upsertCollection(buildCollection())).outcome).toBe('created');
      expect(secured.requests[0]!.authorization).toBe('Bearer token-1');
      const anonymous = new StacApiClient({ baseUrl: secured.url });
      await expect(anonymous.getCollection('dems')).rejects.toThrow(/answered 401: Unauthorized: A bearer token is required \(check the identity and its role on the STAC API, and the token scope\)/);
    } finally {
      await secured.close();
    }
  });

  it('asks an Azure credential for the configured scope, and reports a failing credential without retrying', async () => {
    const scopes: Array<string | string[]> = [];
    const credential: TokenCredential = {
      getToken: async (scope): Promise<AccessToken> => {
        scopes.push(scope);
        return { token: 'entra-token', expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const provider = createAzureTokenProvider({ scope: planetaryComputerProScope, credential });
    expect(await provider()).toBe('entra-token');
    expect(scopes).toEqual(['https://geocatalog.spatio.azure.com/.default']);
    expect(() => createAzureTokenProvider({ scope: ' ' })).toThrow(/token scope is required/);

    const broken: TokenCredential = { getToken: async () => { throw new Error('no managed identity endpoint'); } };
    const stac = client({ getToken: createAzureTokenProvider({ scope: planetaryComputerProScope, credential: broken }) });
    await expect(stac.getCollection('dems')).rejects.toThrow(`Could not get a token for STAC API GET ${api.url}/collections/dems: no managed identity endpoint`);
    expect(api.requests).toHaveLength(0);
  });
});

describe('createAzureStacApiClient', () => {
  it('builds a client from the STAC_API_* values: token for the scope, api-version on every request', async () => {
    const secured = await startLoopbackStacApi({ token: 'pc-pro-token', basePath: '/stac' });
    try {
      const scopes: Array<string | string[]> = [];
      const credential: TokenCredential = {
        getToken: async (scope): Promise<AccessToken> => {
          scopes.push(scope);
          return { token: 'pc-pro-token', expiresOnTimestamp: Date.now() + 3_600_000 };
        },
      };
      const stac = createAzureStacApiClient({ url: secured.url, scope: planetaryComputerProScope, apiVersion: '2025-04-30-preview' }, { credential });
      expect((await stac.upsertCollection(buildCollection())).outcome).toBe('created');
      expect(secured.requests[0]).toMatchObject({ path: '/collections', query: '?api-version=2025-04-30-preview', authorization: 'Bearer pc-pro-token', status: 201 });
      expect(scopes).toEqual([planetaryComputerProScope]);
      // Without a scope no token is sent (a local stac-fastapi without auth).
      await expect(createAzureStacApiClient({ url: secured.url }).getCollection('dems')).rejects.toThrow(/answered 401/);
    } finally {
      await secured.close();
    }
  });
});

describe('StacApiClient: delete', () => {
  it('deletes items and collections (204), and says when there was nothing (404)', async () => {
    const stac = client();
    await stac.upsertCollection(buildCollection());
    await stac.upsertItem('dems', buildItem());
    expect(await stac.deleteItem('dems', 'dem-r0-c1')).toBe(true);
    expect(await stac.getItem('dems', 'dem-r0-c1')).toBeUndefined();
    expect(await stac.deleteItem('dems', 'dem-r0-c1')).toBe(false);
    await stac.upsertItem('dems', buildItem());
    expect(await stac.deleteCollection('dems')).toBe(true);
    expect(api.collection('dems')).toBeUndefined();
    expect(api.item('dems', 'dem-r0-c1')).toBeUndefined();
    expect(await stac.deleteCollection('dems')).toBe(false);
    expect(api.requestLines().filter((l) => l.startsWith('DELETE'))).toEqual([
      'DELETE /collections/dems/items/dem-r0-c1 204',
      'DELETE /collections/dems/items/dem-r0-c1 404',
      'DELETE /collections/dems 204',
      'DELETE /collections/dems 404',
    ]);
  });
});

describe('items and collections from the real STAC builders', () => {
  let validator: StacValidator;
  beforeAll(() => {
    validator = new StacValidator();
  });

  it('round-trip through the API unchanged and still validate', async () => {
    const stac = client();
    const rgbBand = (c: string) => ({ gdalDataType: 'Byte', nodata: null, colorInterpretation: c, hasColorTable: false, description: '', unit: null, statistics: null });
    const items = [
      buildItem(),
      buildItem({ itemId: 'lcc-r0-c0', crs: { code: null, wkt2: 'PROJCRS["Custom LCC"]', projjson: null }, bands: [rgbBand('Red'), rgbBand('Green'), rgbBand('Blue')] }),
    ];
    const collection = buildCollection(items);
    await stac.upsertCollection(collection);
    for (const item of items) await stac.upsertItem('dems', item);

    const fetchedCollection = await stac.getCollection<StacCollection>('dems');
    expect(fetchedCollection?.document).toEqual(collection);
    expect(fetchedCollection?.etag).toBeDefined();
    for (const item of items) {
      const fetched = await stac.getItem<StacItem>('dems', item.id);
      expect(fetched?.document).toEqual(item);
      expect(fetched?.document.assets['data']!.bands![0]!.nodata ?? null).toEqual(item.assets['data']!.bands![0]!.nodata ?? null);
      expect((await validator.validate(fetched!.document)).errors).toEqual([]);
    }
    expect((await validator.validate(fetchedCollection!.document)).errors).toEqual([]);
  });
});

describe('withoutInferredLinks', () => {
  it('drops the links a STAC API derives itself and keeps the others', () => {
    const item = buildItem();
    const withLicense = { ...item, links: [...item.links, { rel: 'license', href: 'https://example.org/licence' }] };
    expect(withoutInferredLinks(withLicense).links).toEqual([{ rel: 'license', href: 'https://example.org/licence' }]);
    // A static collection also links its shard catalogs (`child`), which an API gets without (collectionForApi).
    expect(withoutInferredLinks(buildCollection()).links.map((l) => l.rel)).toEqual(['child']);
    expect(collectionForApi(buildCollection()).links).toEqual([]);
    expect(withLicense.links).toHaveLength(5); // not mutated
  });
});
