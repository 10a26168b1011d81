/**
 * Collection definitions (issue 24, step 1): the shape, the checks against settings and other
 * collections (cycles, unknown names, claimed prefixes), cron expressions, webhook URLs, routing
 * an upload by its collection's sources, and a job's options from its collection's defaults.
 * Each hostile definition of the corpus (test/support/hostile.collections.ts) is refused with the
 * path it names.
 */
import { describe, expect, it } from 'vitest';
import { resolveJobDefinition, routeUpload } from '../../src/collections/collection.routing.js';
import type { StoredCollection } from '../../src/collections/collection.store.js';
import { collectionDefinitionSchema, type CollectionDefinition } from '../../src/collections/definition.schema.js';
import { findCronProblem, findDerivationCycle, validateDefinition, type DefinitionContext } from '../../src/collections/definition.validate.js';
import { findAddressProblem, findWebhookUrlProblem, resolveWebhookAddresses } from '../../src/collections/webhook.policy.js';
import { readWebhookPolicy } from '../../src/config.js';
import { hostileDefinitions, hostileWebhookPolicy } from '../support/hostile.collections.js';

const now = new Date('2026-12-07T10:00:00Z');
const define = (raw: unknown): CollectionDefinition => collectionDefinitionSchema.parse(raw);

function context(others: Record<string, unknown> = {}, extra: Partial<DefinitionContext> = {}): DefinitionContext {
  return {
    sourceContainers: ['uploads', 'incoming'],
    webhooks: { allowlist: ['https://hooks.example.com'], allowLoopback: false },
    others: new Map(Object.entries(others).map(([id, raw]) => [id, define(raw)])),
    now,
    ...extra,
  };
}

const pathsOf = (check: ReturnType<typeof validateDefinition>): string[] => (check.ok ? [] : check.issues.map((issue) => issue.path));

describe('a collection definition', () => {
  it('accepts a full definition and fills its defaults', () => {
    const check = validateDefinition(
      'dem',
      {
        title: 'Elevation',
        sources: [{ container: 'uploads', prefix: 'dem/' }],
        options: { compression: 'ZSTD', blockSize: 256 },
        route: { workerThresholdMb: 64 },
        gates: { maxNodataShare: 0.5, crs: { epsg: [25832, 25833], family: 'projected' }, dataTypes: ['Float32'], bandCounts: [1], maxBytes: 1e9, footprintWithin: [5, 47, 16, 56] },
        schedules: [{ name: 'nightly', cron: '0 3 * * 1-5', timeZone: 'Europe/Berlin', after: [{ collection: 'rasters' }, { batch: 'batch-abc' }] }],
        notifications: { webhooks: [{ url: 'https://hooks.example.com/raster', events: ['job.completed', 'job.quarantined'] }] },
      },
      context(),
    );
    expect(check.ok).toBe(true);
    if (check.ok) expect(check.definition.schedules[0]).toMatchObject({ timeZone: 'Europe/Berlin', cron: '0 3 * * 1-5' });
    const empty = validateDefinition('empty', {}, context());
    expect(empty).toEqual({ ok: true, definition: { sources: [], options: {}, route: {}, gates: {}, schedules: [], notifications: { webhooks: [] } } });
  });

  it('names the path at fault: an unknown field, a bad option, a container not allowed', () => {
    expect(pathsOf(validateDefinition('a', { sourcez: [] }, context()))).toEqual(['body']);
    expect(pathsOf(validateDefinition('a', { options: { tileSize: 12 } }, context()))).toEqual(['options.tileSize']);
    expect(pathsOf(validateDefinition('a', { sources: [{ container: 'cogs', prefix: '' }] }, context()))).toEqual(['sources.0.container']);
    expect(pathsOf(validateDefinition('a', { gates: { crs: { epsg: [1] } } }, context()))).toEqual(['gates.crs.epsg.0']);
  });

  it('refuses a derivation or an "after" naming a collection without a definition, and accepts the default collection', () => {
    expect(pathsOf(validateDefinition('hillshade', { derivedFrom: { collection: 'nope', product: 'hillshade' } }, context()))).toEqual(['derivedFrom.collection']);
    expect(validateDefinition('hillshade', { derivedFrom: { collection: 'rasters', product: 'hillshade' } }, context()).ok).toBe(true);
    expect(pathsOf(validateDefinition('a', { sources: [{ container: 'uploads' }], schedules: [{ name: 's', cron: '0 3 * * *', after: [{ collection: 'ghost' }] }] }, context()))).toEqual(['schedules.0.after.0.collection']);
  });

  it('refuses a derived-from cycle, naming the chain', () => {
    const others = { b: { derivedFrom: { collection: 'c', product: 'slope' } }, c: { derivedFrom: { collection: 'a', product: 'slope' } } };
    const check = validateDefinition('a', { derivedFrom: { collection: 'b', product: 'hillshade' } }, context(others));
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.issues).toEqual([{ path: 'derivedFrom.collection', message: 'makes a cycle: a → b → c → a' }]);
    expect(pathsOf(validateDefinition('a', { derivedFrom: { collection: 'a', product: 'slope' } }, context()))).toEqual(['derivedFrom.collection']);
    expect(findDerivationCycle('x', 'b', new Map([['b', define({ derivedFrom: { collection: 'c', product: 'slope' } })]]))).toBeUndefined();
  });

  it('refuses a product without its parameters', () => {
    expect(pathsOf(validateDefinition('ndvi', { derivedFrom: { collection: 'rasters', product: 'normalized-difference' } }, context()))).toEqual(['derivedFrom.bands']);
    expect(pathsOf(validateDefinition('utm', { derivedFrom: { collection: 'rasters', product: 'reproject' } }, context()))).toEqual(['derivedFrom.targetCrs']);
  });

  it('refuses a source prefix another collection is fed by, or one repeated', () => {
    const others = { first: { sources: [{ container: 'uploads', prefix: 'dem/' }] } };
    expect(pathsOf(validateDefinition('second', { sources: [{ container: 'uploads', prefix: 'dem/' }] }, context(others)))).toEqual(['sources.0.prefix']);
    expect(validateDefinition('second', { sources: [{ container: 'uploads', prefix: 'dem/2026/' }] }, context(others)).ok).toBe(true);
    expect(pathsOf(validateDefinition('x', { sources: [{ container: 'uploads', prefix: 'a/' }, { container: 'uploads', prefix: 'a/' }] }, context()))).toEqual(['sources.1.prefix']);
  });
});

describe('cron expressions of schedules', () => {
  it('accepts five fields in an IANA time zone, weekdays included', () => {
    expect(findCronProblem('0 3 * * 1-5', 'Europe/Berlin', now)).toBeNull();
    expect(findCronProblem('*/15 * * * *', 'UTC', now)).toBeNull();
  });
  it('refuses one that never fires, fires too often, has seconds, or names no time zone', () => {
    expect(findCronProblem('0 0 30 2 *', 'UTC', now)).toMatchObject({ field: 'cron', message: expect.stringContaining('never fires') });
    expect(findCronProblem('* * * * *', 'UTC', now)).toMatchObject({ field: 'cron', message: expect.stringContaining('every 1 minute') });
    expect(findCronProblem('0,1 3 * * *', 'UTC', now)).toMatchObject({ field: 'cron' });
    expect(findCronProblem('* * * * * *', 'UTC', now)).toMatchObject({ field: 'cron', message: expect.stringContaining('five-field') });
    expect(findCronProblem('0 3 * * *', 'Mars/Olympus', now)).toMatchObject({ field: 'timeZone' });
  });
});

describe('webhook URLs', () => {
  const policy = { allowlist: ['https://hooks.example.com', 'http://127.0.0.1:8080'], allowLoopback: false };
  it('allows an https origin on the allowlist only', () => {
    expect(findWebhookUrlProblem('https://hooks.example.com/x?y=1', policy)).toBeNull();
    expect(findWebhookUrlProblem('https://other.example.com/x', policy)).toContain('not on INGEST_WEBHOOK_ALLOWLIST');
    expect(findWebhookUrlProblem('https://hooks.example.com:8443/x', policy)).toContain('not on INGEST_WEBHOOK_ALLOWLIST');
  });
  it('allows loopback only with the setting, and never private, link-local or mapped metadata addresses', () => {
    expect(findWebhookUrlProblem('http://127.0.0.1:8080/hook', policy)).toContain('loopback');
    expect(findWebhookUrlProblem('http://127.0.0.1:8080/hook', { ...policy, allowLoopback: true })).toBeNull();
    for (const address of ['169.254.169.254', '::ffff:169.254.169.254', '10.1.2.3', '192.168.0.1', 'fd00::1', 'fe80::1', '0.0.0.0', '100.100.100.200']) {
      expect(findAddressProblem(address, { allowLoopback: true }), address).not.toBeNull();
    }
    expect(findAddressProblem('20.50.2.1', { allowLoopback: false })).toBeNull();
  });
  it('checks every address a host resolves to (a rebinding answer among public ones is refused)', async () => {
    const answers = (addresses: string[]) => (async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))) as never;
    const allowed = { allowlist: ['https://hooks.example.com'], allowLoopback: false };
    await expect(resolveWebhookAddresses('https://hooks.example.com/x', allowed, answers(['20.50.2.1']))).resolves.toEqual({ ok: true, addresses: ['20.50.2.1'] });
    await expect(resolveWebhookAddresses('https://hooks.example.com/x', allowed, answers(['20.50.2.1', '169.254.169.254']))).resolves.toMatchObject({ ok: false, problem: expect.stringContaining('link-local') });
    await expect(resolveWebhookAddresses('https://hooks.example.com/x', allowed, answers(['::ffff:127.0.0.1']))).resolves.toMatchObject({ ok: false, problem: expect.stringContaining('loopback') });
  });
  it('reads the allowlist as exact origins', () => {
    expect(readWebhookPolicy({ INGEST_WEBHOOK_ALLOWLIST: 'https://a.example.com, http://127.0.0.1:9000', INGEST_WEBHOOK_ALLOW_LOOPBACK: 'true' })).toEqual({ allowlist: ['https://a.example.com', 'http://127.0.0.1:9000'], allowLoopback: true });
    expect(() => readWebhookPolicy({ INGEST_WEBHOOK_ALLOWLIST: 'https://a.example.com/path' })).toThrow(/exact origin/);
    expect(() => readWebhookPolicy({ INGEST_WEBHOOK_ALLOWLIST: 'https://*.example.com' })).toThrow(/exact origin/);
    expect(readWebhookPolicy({})).toEqual({ allowlist: [], allowLoopback: false });
  });
});

describe('routing an upload and a job of a collection', () => {
  const stored = (id: string, raw: unknown, version = 1): StoredCollection => ({ id, version, definition: define(raw), updatedTime: '' });
  const collections = [stored('dem', { sources: [{ container: 'uploads', prefix: 'dem/' }] }), stored('dem-2026', { sources: [{ container: 'uploads', prefix: 'dem/2026/' }] }), stored('incoming-all', { sources: [{ container: 'incoming' }] })];

  it('takes the longest matching prefix, plain text, in the same container', () => {
    expect(routeUpload(collections, { container: 'uploads', name: 'dem/2026/a.tif' }).collection).toBe('dem-2026');
    expect(routeUpload(collections, { container: 'uploads', name: 'dem/2025/a.tif' }).collection).toBe('dem');
    expect(routeUpload(collections, { container: 'incoming', name: 'dem/a.tif' }).collection).toBe('incoming-all');
    expect(routeUpload(collections, { container: 'uploads', name: 'scene.tif' })).toEqual({ collection: 'rasters', matched: null });
    expect(routeUpload(collections, { container: 'uploads', name: 'DEM/2026/a.tif' }).collection).toBe('rasters');
  });

  it("gives a job the collection's default options under its own, its version, gates and route rule", () => {
    const dem = stored('dem', { options: { compression: 'ZSTD', blockSize: 256 }, route: { workerThresholdMb: 2 }, gates: { maxBytes: 10 } }, 4);
    const resolved = resolveJobDefinition(dem, { blockSize: 1024 });
    expect(resolved).toMatchObject({ ok: true, job: { options: { compression: 'ZSTD', blockSize: 1024 }, definition: { version: 4, gates: { maxBytes: 10 }, workerThresholdBytes: 2 * 1024 * 1024 } } });
    expect(resolveJobDefinition(undefined, undefined)).toMatchObject({ ok: true, job: { options: { compression: 'DEFLATE' } } });
    expect(resolveJobDefinition(undefined, undefined).ok && 'definition' in (resolveJobDefinition(undefined, undefined) as { job: object }).job).toBe(false);
    expect(resolveJobDefinition(dem, { compression: 'nope' })).toMatchObject({ ok: false, problem: expect.stringContaining('options.compression') });
  });
});

describe('hostile definitions (test/support/hostile.collections.ts)', () => {
  it('has several variants of each class', () => {
    const classes = new Map<string, number>();
    for (const entry of hostileDefinitions) classes.set(entry.category, (classes.get(entry.category) ?? 0) + 1);
    for (const [category, count] of classes) expect(count, category).toBeGreaterThanOrEqual(2);
    expect([...classes.keys()].sort()).toEqual(['cron', 'deep or huge JSON', 'gate area', 'id', 'prefix', 'schedule', 'time zone', 'webhook']);
  });

  it.each(hostileDefinitions.filter((entry) => entry.body !== undefined && entry.unit !== false).map((entry) => [entry.name, entry] as const))('%s is refused with its path', (_, entry) => {
    const check = validateDefinition(entry.id, JSON.parse(entry.body), context({}, { webhooks: hostileWebhookPolicy }));
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.issues.map((issue) => issue.path)).toEqual(expect.arrayContaining(entry.fields));
  });
});
