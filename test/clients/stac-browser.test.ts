/**
 * STAC Browser (Radiant Earth's web client, built from its npm sources by
 * scripts/install-stac-browser.sh) browses a catalog the pipeline produced, in headless Chromium.
 *
 * The catalog stays where the pipeline wrote it: the `stac` and `cogs` containers of a real
 * Azurite, made publicly readable with a CORS rule for STAC Browser's origin — the way a static
 * catalog in Blob Storage is published for web clients. STAC Browser reads the documents exactly
 * as written (absolute links, self hrefs) and the COGs through range requests; nothing is
 * rewritten on the way. Screenshots land in test-results/stac-browser/.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { serve, type ServerType } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import type { JobView } from '../../src/jobs/job.view.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import { createFixtureDir, writeFloat32NanDem, writeRgbUint8, type FixtureDir } from '../support/fixtures.js';
import { freePort, projectRoot, startLocalHost, waitForJob, type LocalHost } from '../support/local.host.js';

const chromiumPath = '/usr/bin/chromium';
// Chromium's own background connections are refused on this closed network, many at a time.
const chromiumFlags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const screenshots = join(projectRoot, 'test-results', 'stac-browser');
const collectionId = 'browser';
const catalogTitle = 'Ingested rasters';
const cogMediaType = 'image/tiff; application=geotiff; profile=cloud-optimized';

interface StacAsset {
  href: string;
  type?: string;
  title?: string;
  roles?: string[];
  'file:checksum'?: string;
}
interface StacItem {
  id: string;
  assets: Record<string, StacAsset>;
  links: Array<{ rel: string; href: string }>;
}

/** Builds STAC Browser (a no-op once built) and installs Chromium if missing; returns the build folder. */
async function installStacBrowser(): Promise<string> {
  const script = join(projectRoot, 'scripts', 'install-stac-browser.sh');
  const { stdout, stderr } = await promisify(execFile)('bash', [script], { cwd: projectRoot, maxBuffer: 16 * 1024 * 1024 });
  if (stderr.trim()) console.warn(stderr.trim());
  return stdout.trim().split('\n').at(-1)!;
}

// Before collection, so a missing Chromium turns into a skip with its reason; a failed build fails the file.
const stacBrowserDist = await installStacBrowser();
const chromiumMissing = existsSync(chromiumPath) ? undefined : `needs Debian's chromium at ${chromiumPath}, which scripts/install-stac-browser.sh could not install`;

/** Serves STAC Browser's build on loopback, with a runtime config.js naming the catalog. */
async function serveStacBrowser(port: number, catalogUrl: string): Promise<ServerType> {
  const app = new Hono();
  app.get('/config.js', (c) => c.body(`window.STAC_BROWSER_CONFIG = ${JSON.stringify({ catalogUrl })};\n`, 200, { 'Content-Type': 'text/javascript' }));
  app.use('*', serveStatic({ root: stacBrowserDist }));
  // History mode: every other path is one of STAC Browser's client-side routes.
  app.get('*', serveStatic({ root: stacBrowserDist, path: 'index.html' }));
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(server));
  });
}

/** Publishes the containers the catalog links to as web clients need them: anonymous reads, CORS for their origin. */
async function publishForWebClients(connectionString: string, origin: string): Promise<void> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  await service.setProperties({
    cors: [{ allowedOrigins: origin, allowedMethods: 'GET,HEAD,OPTIONS', allowedHeaders: '*', exposedHeaders: '*', maxAgeInSeconds: 60 }],
  });
  for (const container of ['stac', 'cogs']) await service.getContainerClient(container).setAccessPolicy('blob');
}

function isLoopback(url: string): boolean {
  const { hostname, protocol } = new URL(url);
  return protocol === 'data:' || protocol === 'blob:' || hostname === '127.0.0.1' || hostname === 'localhost';
}

/**
 * Console lines that say nothing about the catalog: the browser's report of a request this test
 * blocked, software-GL performance notes, and OpenLayers noticing a map laid out before its
 * container has a size (a race in STAC Browser's page layout, seen now and then).
 */
function isBenign(text: string): boolean {
  return text.includes('ERR_BLOCKED_BY_CLIENT') || text.startsWith('[.WebGL-') || text === "No map visible because the map container's width or height are 0.";
}

/** An error object's message and stack inside the page (ol-stac logs its layer errors as events wrapping one). */
function describeConsoleArgument(value: unknown): string {
  const inner = (value as { error?: unknown } | null)?.error ?? value;
  if (inner instanceof Error) return `${inner.message}\n${inner.stack ?? ''}`;
  return typeof inner === 'string' ? inner : (JSON.stringify(inner) ?? String(inner));
}

if (chromiumMissing) {
  console.warn(`STAC Browser tests skipped: ${chromiumMissing}`);
  describe('STAC Browser 4.0.1 on a catalog the pipeline produced', () => {
    it.skip(chromiumMissing, () => {});
  });
} else {
  describe('STAC Browser 4.0.1 on a catalog the pipeline produced', () => {
    let azurite: RunningAzurite;
    let azuriteDir: string | undefined;
    let host: LocalHost;
    let fixtures: FixtureDir;
    let server: ServerType | undefined;
    let browser: Browser | undefined;
    let page: Page;
    let baseUrl: string;
    let items: StacItem[];
    let demItems: StacItem[];
    /** Console errors and warnings, page errors and failed loopback requests since the last check. */
    const problems: Promise<string>[] = [];

    /** Runs a test's steps; when one fails (a timeout, mostly), the failure also tells what the page logged. */
    async function inPage(steps: () => Promise<void>): Promise<void> {
      try {
        await steps();
      } catch (error) {
        const found = await Promise.all(problems.splice(0));
        if (found.length && error instanceof Error) error.message += `\n\nWhat the page logged:\n${found.join('\n\n')}`;
        throw error;
      }
    }

    async function expectNoProblems(): Promise<void> {
      const found = await Promise.all(problems.splice(0));
      expect(found, found.join('\n\n')).toEqual([]);
      expect(await page.locator('.alert-danger').allInnerTexts(), 'error alerts on the page').toEqual([]);
    }

    beforeAll(async () => {
      azuriteDir = mkdtempSync(join(tmpdir(), 'stac-browser-azurite-'));
      azurite = await startAzurite({ location: azuriteDir });
      host = await startLocalHost({ storageConnectionString: azurite.connectionString, env: { INGEST_SOURCE_CONTAINERS: 'uploads,incoming' } });
      fixtures = createFixtureDir('stac-browser-');

      // A small RGB image in 512-pixel tiles (two items, each with a COG and a PNG thumbnail), and
      // a float32 DEM with NaN nodata and NaN pixels in the same collection.
      const store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
      const ingest = async (name: string, path: string): Promise<JobView> => {
        await store.uploadFile({ container: 'incoming', name: `browser/${name}` }, path, 'image/tiff');
        const response = await fetch(`${host.baseUrl}/api/jobs`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ source: `incoming/browser/${name}`, collection: collectionId, options: { tileSize: 512, blockSize: 256 } }),
        });
        expect(response.status).toBe(202);
        const job = await waitForJob(host.baseUrl, ((await response.json()) as { id: string }).id);
        expect(job.errors).toEqual([]);
        expect(job.status).toBe('Completed');
        return job;
      };
      const rgbJob = await ingest('rgb.tif', writeRgbUint8(fixtures.path, 900, 500));
      const demJob = await ingest('dem.tif', writeFloat32NanDem(fixtures.path, 400, 300));

      const port = await freePort();
      baseUrl = `http://127.0.0.1:${port}`;
      await publishForWebClients(azurite.connectionString, baseUrl);
      // Read anonymously, as the browser will: the publishing above is what makes this work.
      const readItems = (job: JobView): Promise<StacItem[]> => Promise.all(job.output!.tiles.map(async (tile) => (await (await fetch(tile.itemUrl)).json()) as StacItem));
      items = await readItems(rgbJob);
      demItems = await readItems(demJob);
      const catalogUrl = `http://127.0.0.1:${azurite.ports.blob}/devstoreaccount1/stac/catalog.json`;
      server = await serveStacBrowser(port, catalogUrl);

      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
      const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
      // Basemap tiles (and anything else off this machine): refused at once instead of waiting on a closed network.
      await context.route(
        (url) => !isLoopback(url.href),
        (route) => route.abort('blockedbyclient'),
      );
      page = await context.newPage();
      page.setDefaultTimeout(20_000);
      page.on('console', (message: ConsoleMessage) => {
        if (message.type() !== 'error' && message.type() !== 'warning') return;
        const text = message.text();
        if (isBenign(text)) return;
        const where = message.location().url;
        problems.push(
          Promise.all(message.args().map((arg) => arg.evaluate(describeConsoleArgument)))
            .then((details) => `console ${message.type()} at ${where}: ${details.join(' ') || text}`)
            .catch(() => `console ${message.type()} at ${where}: ${text}`),
        );
      });
      page.on('pageerror', (error) => problems.push(Promise.resolve(`page error: ${error.message}\n${error.stack ?? ''}`)));
      page.on('requestfailed', (request) => {
        if (isLoopback(request.url())) problems.push(Promise.resolve(`request failed: ${request.url()}: ${request.failure()?.errorText}`));
      });
      mkdirSync(screenshots, { recursive: true });
    }, 600_000);

    afterAll(async () => {
      await browser?.close();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      await host?.stop();
      await azurite?.stop();
      fixtures?.remove();
      if (azuriteDir) rmSync(azuriteDir, { recursive: true, force: true });
    });

    it('shows the root catalog with its title and the collection', () => inPage(async () => {
      await page.goto(`${baseUrl}/`);
      await page.getByRole('heading', { level: 1, name: catalogTitle }).waitFor();
      await page.getByRole('link', { name: collectionId, exact: true }).waitFor();
      await page.getByText(`Cloud Optimized GeoTIFF tiles of rasters ingested into "${collectionId}".`).waitFor();
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(screenshots, 'catalog.png'), fullPage: true });
      await expectNoProblems();
    }));

    it('follows the catalog’s link to the collection, which links its shard catalogs and summarises its items', () => inPage(async () => {
      await page.getByRole('link', { name: collectionId, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: collectionId }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/${collectionId}/collection.json`);
      for (const item of [items[0]!, demItems[0]!]) await page.getByRole('link', { name: `Sources ${shardOfItem(item)}`, exact: true }).waitFor();
      await page.getByText('Assets in Items').first().waitFor();
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(screenshots, 'collection.png'), fullPage: true });
      await expectNoProblems();
    }));

    it('goes on to a shard and to a source’s catalog, which lists every item of the source with its thumbnail and holds its VRT mosaic', () => inPage(async () => {
      expect(items.length).toBeGreaterThan(1);
      await page.getByRole('link', { name: `Sources ${shardOfItem(items[0]!)}`, exact: true }).click();
      const source = 'incoming/browser/rgb.tif';
      await page.getByRole('link', { name: source, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: source }).waitFor();
      expect(page.url()).toContain('/catalogs/');
      for (const item of items) {
        await page.getByRole('link', { name: item.id, exact: true }).waitFor();
        await waitForImage(page, item.assets['thumbnail']!.href);
      }
      await page.getByText(`GDAL VRT mosaic of all tiles of ${source}`).waitFor();
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(screenshots, 'source-catalog.png'), fullPage: true });
      await expectNoProblems();
    }));

    it('shows an item with its COG asset (media type, size, checksum) drawn on the map, and its thumbnail', () => inPage(async () => {
      const item = items[0]!;
      const cog = Object.values(item.assets).find((asset) => asset.roles?.includes('data'))!;
      const thumbnail = item.assets['thumbnail']!;
      expect(cog.type).toBe(cogMediaType);

      await page.getByRole('link', { name: item.id, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: item.id }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/${collectionId}/${item.id}/${item.id}.json`);

      // STAC Browser names the media type in words and offers the COG's own URL for download.
      const asset = page.locator('.asset', { hasText: cog.title! }).first();
      await asset.waitFor();
      await asset.getByText('Cloud-Optimized GeoTIFF image').waitFor();
      expect(await asset.getByRole('link', { name: 'Download' }).getAttribute('href')).toBe(cog.href);
      // file:checksum is a multihash; STAC Browser decodes it into algorithm and digest (0x12 0x20 = sha2-256, 32 bytes).
      expect(cog['file:checksum']).toMatch(/^1220[0-9a-f]{64}$/);
      expect(await asset.locator('input').first().inputValue()).toBe(cog['file:checksum']!.slice(4));
      await asset.getByText('sha2-256').waitFor();
      await asset.getByText('Size').waitFor();
      // "Shown": ol-stac read the COG from Blob Storage with range requests and drew it on the map.
      await asset.getByText('Shown', { exact: false }).waitFor();
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(screenshots, 'item.png'), fullPage: true });

      await page.getByRole('tab', { name: 'Thumbnails' }).click();
      await waitForImage(page, thumbnail.href);
      await page.screenshot({ path: join(screenshots, 'item-thumbnail.png'), fullPage: true });
      await expectNoProblems();
    }));

    it('opens a float32 DEM item by its URL: NaN nodata, unit and statistics in the bands table, the COG drawn', () => inPage(async () => {
      const item = demItems[0]!;
      // A deep link straight to the item (history mode), not a click from the collection.
      await page.goto(`${baseUrl}/${collectionId}/${item.id}/${item.id}.json`);
      await page.getByRole('heading', { level: 1, name: item.id }).waitFor();
      const band = page.locator('tr', { hasText: 'b1' }).first();
      await band.waitFor();
      const cells = await band.locator('td').allInnerTexts();
      expect(cells).toEqual(expect.arrayContaining(['b1', 'float32', 'nan', 'metre']));
      // NaN pixels (a disc in the fixture) are not valid data.
      expect(await band.innerText()).toMatch(/Valid[:\s]*\d+(\.\d+)?\s*%/);
      expect(await band.innerText()).not.toMatch(/Valid[:\s]*100\s*%/);
      await page.locator('.asset').first().getByText('Shown', { exact: false }).waitFor();
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(screenshots, 'dem-item.png'), fullPage: true });
      await expectNoProblems();
    }));
  });
}

/** The shard an item's source hangs under: the item's parent (its source catalog) sits in `catalogs/<shard>/`. */
function shardOfItem(item: StacItem): string {
  const parent = item.links.find((link) => link.rel === 'parent')!.href;
  const shard = /\/catalogs\/([0-9a-f]{2})\/[^/]+\/catalog\.json$/.exec(parent)?.[1];
  if (!shard) throw new Error(`the item's parent ${parent} is not a source catalog`);
  return shard;
}

/** Waits until an <img> with this source has loaded real pixels. */
async function waitForImage(page: Page, src: string): Promise<void> {
  // Runs in the page; the project's TypeScript has no DOM types, so the little it uses is spelled out.
  type PageImages = { document: { images: ArrayLike<{ src: string; complete: boolean; naturalWidth: number }> } };
  await page.waitForFunction(
    (wanted) => Array.from((globalThis as unknown as PageImages).document.images).some((image) => image.src === wanted && image.complete && image.naturalWidth > 0),
    src,
  );
}
