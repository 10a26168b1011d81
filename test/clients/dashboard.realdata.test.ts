/**
 * The dashboard on real data (issue 19, items 6 and 7), in headless Chromium against the real
 * local host on its own Azurite, with the pixels of the map's screenshots checked, not only
 * that a canvas exists, and no page error anywhere:
 * - a 0–360° grid, tiles across the antimeridian and a polar raster draw their outlines and
 *   their COGs (or say why not), and the country outlines have no line across the world;
 * - a float32 DEM with NaN nodata and an int16 DEM are drawn stretched (not black, not flat),
 *   their nodata transparent;
 * - the jobs list shows error codes and messages, folds attempts, filters by source and batch;
 *   a running batch lists its running jobs, a batch's jobs come in the order it starts them;
 *   a job of 150 tiles keeps a bounded page; no page scrolls sideways at 390 px.
 * Screenshots land in test-results/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gdal from 'gdal-async';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import type { JobView } from '../../src/jobs/job.view.js';
import type { TileEntry, TileLedgerPage } from '../../src/jobs/tile.ledger.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import {
  createFixtureDir,
  writeAntimeridian,
  writeFloat32NanDem,
  writeGlobal0To360,
  writeInt16Dem,
  writeNorthPolar,
  writeRgbUint8,
  writeTextAsTif,
  type FixtureDir,
} from '../support/fixtures.js';
import { projectRoot, startLocalHost, waitForJob, type LocalHost } from '../support/local.host.js';

const chromiumPath = '/usr/bin/chromium';
const chromiumFlags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const screenshots = join(projectRoot, 'test-results', 'screenshots');
const collection = 'real-data';

/** How long what the page shows may take to settle (tiles loading, a view's animation, the next poll). */
const screenPoll = { timeout: 20_000, interval: 250 };

const chromiumMissing = existsSync(chromiumPath) ? undefined : `needs Chromium at ${chromiumPath} (Debian's package: apt-get install chromium)`;
const dashboardMissing = existsSync(join(projectRoot, 'dist', 'web', 'index.html')) ? undefined : 'dist/web is missing: run "npm run build"';

type Rgb = [number, number, number];
/** The map's colours (web/job.map.ts, web/app.css). */
const sea: Rgb = [219, 234, 254];
const land: Rgb = [243, 244, 241];
const doneOutline: Rgb = [21, 128, 61];

interface Picture {
  width: number;
  height: number;
  at(x: number, y: number): Rgb;
}

/** A PNG screenshot's pixels, decoded by GDAL. */
function decodePng(png: Buffer): Picture {
  const name = `/vsimem/screenshot-${process.pid}-${Math.random().toString(36).slice(2)}.png`;
  gdal.vsimem.set(png, name);
  try {
    const dataset = gdal.open(name);
    const { x: width, y: height } = dataset.rasterSize;
    const bands = [1, 2, 3].map((band) => dataset.bands.get(band).pixels.read(0, 0, width, height) as Uint8Array);
    dataset.close();
    return { width, height, at: (x, y) => bands.map((band) => band[Math.round(y) * width + Math.round(x)]!) as Rgb };
  } finally {
    gdal.vsimem.release(name);
  }
}

const distance = (a: Rgb, b: Rgb): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
const luminance = ([r, g, b]: Rgb): number => 0.299 * r + 0.587 * g + 0.114 * b;

/** Grey levels in a rectangle: their mean, spread, how many distinct (in steps of 4), and how many pixels are the map's background. */
function regionStats(picture: Picture, [x0, y0, x1, y1]: [number, number, number, number]) {
  const values: number[] = [];
  let background = 0;
  for (let y = Math.ceil(y0); y < Math.floor(y1); y += 2) {
    for (let x = Math.ceil(x0); x < Math.floor(x1); x += 2) {
      const pixel = picture.at(x, y);
      if (distance(pixel, sea) < 12 || distance(pixel, land) < 12) background++;
      values.push(luminance(pixel));
    }
  }
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  const std = Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length);
  return { mean, std, levels: new Set(values.map((v) => Math.round(v / 4))).size, backgroundShare: background / values.length };
}

function countNear(picture: Picture, colour: Rgb, tolerance: number, xFrom = 0, xTo = picture.width): number {
  let count = 0;
  for (let y = 0; y < picture.height; y++) for (let x = xFrom; x < xTo; x++) if (distance(picture.at(x, y), colour) <= tolerance) count++;
  return count;
}

/**
 * The longest share of one row drawn in line grey (country borders and coasts, anti-aliased):
 * a ring jumping across the antimeridian draws such a row across the whole map.
 */
function longestGreyRow(picture: Picture): number {
  let longest = 0;
  // Leave out the controls: zoom buttons at the top left, scale line at the bottom left.
  for (let y = 60; y < picture.height - 40; y++) {
    let grey = 0;
    for (let x = 0; x < picture.width; x++) {
      const pixel = picture.at(x, y);
      const spread = Math.max(...pixel) - Math.min(...pixel);
      const level = luminance(pixel);
      if (spread < 60 && level > 120 && level < 215) grey++;
    }
    longest = Math.max(longest, grey / picture.width);
  }
  return longest;
}

/** Web Mercator metres of a lon/lat. */
function mercator(lon: number, lat: number): [number, number] {
  const clamped = Math.max(-85.0511, Math.min(85.0511, lat));
  return [(lon * 20037508.342789244) / 180, Math.log(Math.tan(Math.PI / 4 + (clamped * Math.PI) / 360)) * 6378137];
}

/** Where a bbox lies on a map view of `width` × `height` that was fitted to it with 30 px padding (the map's "Zoom to" buttons). */
function fittedRect([west, south, east, north]: [number, number, number, number], width: number, height: number): { rect: [number, number, number, number]; toPixel(lon: number, lat: number): [number, number] } {
  const [x0, y0] = mercator(west, south);
  const [x1, y1] = mercator(east, north);
  const resolution = Math.max((x1 - x0) / (width - 60), (y1 - y0) / (height - 60));
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const toPixel = (lon: number, lat: number): [number, number] => {
    const [x, y] = mercator(lon, lat);
    return [width / 2 + (x - cx) / resolution, height / 2 - (y - cy) / resolution];
  };
  const [left, bottom] = toPixel(west, south);
  const [right, top] = toPixel(east, north);
  return { rect: [left, top, right, bottom], toPixel };
}

/** A rectangle's middle part (a share of its width and height on each side cut off). */
function inset([x0, y0, x1, y1]: [number, number, number, number], share: number): [number, number, number, number] {
  const dx = (x1 - x0) * share;
  const dy = (y1 - y0) * share;
  return [x0 + dx, y0 + dy, x1 - dx, y1 - dy];
}

if (chromiumMissing) {
  describe('dashboard on real data in headless Chromium', () => {
    it.skip(chromiumMissing, () => {});
  });
} else {
  describe('dashboard on real data in headless Chromium', () => {
    let azurite: RunningAzurite;
    let azuriteDir: string | undefined;
    let host: LocalHost;
    let fixtures: FixtureDir;
    let store: BlobStore;
    let browser: Browser | undefined;
    let desktop: BrowserContext;
    let page: Page;
    const jobs = new Map<string, JobView>();
    /** Console errors and warnings, page errors and failed requests since the last check. */
    const problems: string[] = [];

    async function submit(key: string, file: string, options: Record<string, unknown>): Promise<string> {
      await store.uploadFile({ container: 'incoming', name: `real/${key}.tif` }, file, 'image/tiff');
      const response = await fetch(`${host.baseUrl}/api/jobs`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ source: `incoming/real/${key}.tif`, collection, options }),
      });
      expect(response.status, await response.clone().text()).toBe(202);
      return ((await response.json()) as { id: string }).id;
    }

    async function readTiles(id: string): Promise<TileEntry[]> {
      const response = await fetch(`${host.baseUrl}/api/jobs/${encodeURIComponent(id)}/tiles`);
      expect(response.status).toBe(200);
      return ((await response.json()) as TileLedgerPage).tiles;
    }

    function watch(target: Page): void {
      target.on('console', (message: ConsoleMessage) => {
        if ((message.type() === 'error' || message.type() === 'warning') && !message.text().startsWith('[.WebGL-')) problems.push(`console ${message.type()}: ${message.text()}`);
      });
      target.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      target.on('requestfailed', (request) => {
        if (request.failure()?.errorText === 'net::ERR_ABORTED' && /\/api\/(jobs|batches)/.test(request.url())) return;
        problems.push(`request failed: ${request.url()}: ${request.failure()?.errorText}`);
      });
    }

    function expectNoProblems(): void {
      const found = problems.splice(0);
      expect(found, found.join('\n')).toEqual([]);
    }

    /** Runs a test's steps; when one fails, the failure also tells what the page logged and showed. */
    async function inPage(target: Page, steps: () => Promise<void>): Promise<void> {
      try {
        await steps();
      } catch (error) {
        if (error instanceof Error) {
          if (problems.length) error.message += `\n\nWhat the page logged:\n${problems.splice(0).join('\n')}`;
          const shown = await target.locator('main').innerText({ timeout: 2000 }).catch(() => '(no page)');
          error.message += `\n\nWhat the page showed:\n${shown.slice(0, 3000)}`;
        }
        throw error;
      }
    }

    async function mapPicture(name?: string): Promise<Picture> {
      const png = await page.locator('.map .ol-viewport').screenshot(name ? { path: join(screenshots, name) } : {});
      return decodePng(png);
    }

    async function mapSize(): Promise<{ width: number; height: number }> {
      const box = await page.locator('.map .ol-viewport').boundingBox();
      return { width: Math.round(box!.width), height: Math.round(box!.height) };
    }

    /** Opens a job's page with its map, the COG of `itemSuffix` selected and in view. */
    async function showTile(jobKey: string, itemSuffix: string): Promise<TileEntry> {
      const job = jobs.get(jobKey)!;
      const tile = (await readTiles(job.id)).find((entry) => entry.itemId.endsWith(itemSuffix))!;
      await page.goto(`${host.baseUrl}/api/dashboard/#/jobs/${job.id}`);
      await page.getByText('This job has finished: Completed.').waitFor();
      await page.locator(`.tile-grid td[data-item-id="${tile.itemId}"] button`).click();
      await page.locator('.cog-status', { hasText: `The COG of ${tile.itemId}` }).waitFor();
      await page.getByRole('button', { name: 'Zoom to the selected tile' }).click();
      return tile;
    }

    beforeAll(async () => {
      if (dashboardMissing) throw new Error(dashboardMissing);
      azuriteDir = mkdtempSync(join(tmpdir(), 'dashboard-real-azurite-'));
      azurite = await startAzurite({ location: azuriteDir });
      host = await startLocalHost({ storageConnectionString: azurite.connectionString, env: { INGEST_SOURCE_CONTAINERS: 'uploads,incoming' } });
      fixtures = createFixtureDir('dashboard-real-');
      store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });

      const submitted = new Map<string, string>([
        // EPSG:4326 with longitudes 0–360: 256-pixel tiles of 128°, the middle column across the antimeridian.
        ['global', await submit('global', writeGlobal0To360(fixtures.path), { tileSize: 256, blockSize: 256 })],
        ['antimeridian', await submit('antimeridian', writeAntimeridian(fixtures.path), { tileSize: 256, blockSize: 256 })],
        ['polar', await submit('polar', writeNorthPolar(fixtures.path), { tileSize: 256, blockSize: 256 })],
        // UTM with a NaN hole, made Web Mercator so the map can draw it; int16 in EPSG:4326 with a -9999 corner.
        ['float32', await submit('float32', writeFloat32NanDem(fixtures.path), { tileSize: 512, blockSize: 256, targetCrs: 'EPSG:3857' })],
        ['int16', await submit('int16', writeInt16Dem(fixtures.path), { tileSize: 256, blockSize: 256 })],
      ]);
      for (const [key, id] of submitted) {
        const job = await waitForJob(host.baseUrl, id);
        expect(job.status, `${key}: ${JSON.stringify(job.errors)}`).toBe('Completed');
        jobs.set(key, job);
      }

      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
      desktop = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
      await desktop.route((url) => !['127.0.0.1', 'localhost'].includes(url.hostname) && url.protocol !== 'data:' && url.protocol !== 'blob:', (route) => route.abort('blockedbyclient'));
      page = await desktop.newPage();
      page.setDefaultTimeout(30_000);
      watch(page);
      mkdirSync(screenshots, { recursive: true });
    }, 600_000);

    afterAll(async () => {
      await browser?.close();
      await host?.stop();
      await azurite?.stop();
      fixtures?.remove();
      if (azuriteDir) rmSync(azuriteDir, { recursive: true, force: true });
    });

    it('draws a 0–360° grid: every tile outlined, and a COG across the antimeridian drawn whole', () => inPage(page, async () => {
      const global = jobs.get('global')!;
      await page.goto(`${host.baseUrl}/api/dashboard/#/jobs/${global.id}`);
      await page.getByText('This job has finished: Completed.').waitFor();
      await page.locator('.cog-status[data-cog-state="drawn"]').waitFor();
      expect(await page.getByText('No tile is done yet').count()).toBe(0);
      // Every tile outlined, solid green, across the whole map width (the tiles span one turn).
      await expect.poll(async () => {
        const picture = await mapPicture();
        const third = Math.floor(picture.width / 3);
        return [0, 1, 2].map((i) => countNear(picture, doneOutline, 40, i * third, (i + 1) * third) > 150);
      }, screenPoll).toEqual([true, true, true]);

      // The tile from 128° to 256° (written 128…-104), across the antimeridian.
      const tile = await showTile('global', '-r0-c1');
      expect(tile.bbox![0]).toBeGreaterThan(tile.bbox![2]);
      const { width, height } = await mapSize();
      const { rect } = fittedRect([128, tile.bbox![1], 256, tile.bbox![3]], width, height);
      await expect.poll(async () => {
        const picture = await mapPicture('real-global-0-360.png');
        const [x0, y0, x1, y1] = inset(rect, 0.06);
        const third = (x1 - x0) / 3;
        // West of the antimeridian and east of it: the values, dark to light, not the map's flat background.
        return [regionStats(picture, [x0, y0, x0 + third, y1]), regionStats(picture, [x1 - third, y0, x1, y1])].map((stats) => stats.std > 12 && stats.levels > 12);
      }, screenPoll).toEqual([true, true]);
      expectNoProblems();
    }), 120_000);

    it('draws tiles across the antimeridian side by side, outlined on both sides of it', () => inPage(page, async () => {
      const job = jobs.get('antimeridian')!;
      const tiles = await readTiles(job.id);
      expect(tiles.some((tile) => tile.bbox![0] > tile.bbox![2])).toBe(true);
      await page.goto(`${host.baseUrl}/api/dashboard/#/jobs/${job.id}`);
      await page.locator('.cog-status[data-cog-state="drawn"]').waitFor();
      const { width, height } = await mapSize();
      // Fitted to 170°…190°: the antimeridian is at 180°.
      const { toPixel } = fittedRect([170, -25, 190, -15], width, height);
      const [meridian] = toPixel(180, -20);
      await expect.poll(async () => {
        const picture = await mapPicture('real-antimeridian.png');
        return [countNear(picture, doneOutline, 40, 0, Math.floor(meridian) - 5) > 150, countNear(picture, doneOutline, 40, Math.ceil(meridian) + 5, picture.width) > 150];
      }, screenPoll).toEqual([true, true]);
      expectNoProblems();
    }), 120_000);

    it('draws a polar raster: its tiles outlined, its COG explained, and country outlines without lines across the world', () => inPage(page, async () => {
      const job = jobs.get('polar')!;
      await page.goto(`${host.baseUrl}/api/dashboard/#/jobs/${job.id}`);
      await page.getByText('This job has finished: Completed.').waitFor();
      await page.locator('.cog-status[data-cog-state="not-drawn"]', { hasText: 'EPSG:3413' }).waitFor();
      await expect.poll(async () => {
        const picture = await mapPicture('real-polar.png');
        return { outlined: countNear(picture, doneOutline, 40) > 300, land: countNear(picture, land, 6) > 5000, strayLine: longestGreyRow(picture) > 0.5 };
      }, screenPoll).toEqual({ outlined: true, land: true, strayLine: false });
      expectNoProblems();
    }), 120_000);

    it('draws a float32 DEM stretched from its statistics, its NaN nodata transparent', () => inPage(page, async () => {
      const tile = await showTile('float32', '-r0-c0');
      await page.locator('.cog-status .stretch').waitFor();
      const { width, height } = await mapSize();
      const { rect, toPixel } = fittedRect(tile.bbox!, width, height);
      // The NaN hole: a disc around source pixel (300, 300), in UTM 33N.
      const utm = new gdal.CoordinateTransformation(gdal.SpatialReference.fromProj4('+proj=utm +zone=33 +datum=WGS84'), gdal.SpatialReference.fromProj4('+proj=longlat +datum=WGS84'));
      const hole = utm.transformPoint(400000 + 300 * 30, 5500000 - 300 * 30);
      const [hx, hy] = toPixel(hole.x, hole.y);
      await expect.poll(async () => {
        const picture = await mapPicture('real-float32.png');
        // Away from the hole: the values as greys from dark to light, not one black square.
        const stats = regionStats(picture, [rect[0] + 8, rect[1] + 8, rect[0] + (rect[2] - rect[0]) * 0.3, rect[3] - 8]);
        const holeShows = regionStats(picture, [hx - 4, hy - 4, hx + 4, hy + 4]);
        return { varied: stats.std > 15 && stats.levels > 15, notBlack: stats.mean > 30 && stats.mean < 225, holeTransparent: holeShows.backgroundShare > 0.9 };
      }, screenPoll).toEqual({ varied: true, notBlack: true, holeTransparent: true });
      expectNoProblems();
    }), 120_000);

    it('draws an int16 DEM stretched from its statistics, its -9999 nodata corner transparent', () => inPage(page, async () => {
      const tile = await showTile('int16', '-r0-c0');
      await page.locator('.cog-status .stretch').waitFor();
      const { width, height } = await mapSize();
      const { rect } = fittedRect(tile.bbox!, width, height);
      const tileWidth = rect[2] - rect[0];
      const tileHeight = rect[3] - rect[1];
      await expect.poll(async () => {
        const picture = await mapPicture('real-int16.png');
        const stats = regionStats(picture, [rect[0] + tileWidth * 0.3, rect[1] + tileHeight * 0.3, rect[2] - 8, rect[3] - 8]);
        // The nodata block is the tile's first 50 of 256 pixels in each direction.
        const corner = regionStats(picture, [rect[0] + tileWidth * 0.05, rect[1] + tileHeight * 0.05, rect[0] + tileWidth * 0.15, rect[1] + tileHeight * 0.15]);
        return { varied: stats.std > 20 && stats.levels > 20, notBlack: stats.mean > 30 && stats.mean < 225, cornerTransparent: corner.backgroundShare > 0.9 };
      }, screenPoll).toEqual({ varied: true, notBlack: true, cornerTransparent: true });
      expectNoProblems();
    }), 120_000);

    describe('lists and pages for real volumes', () => {
      let batchId = '';
      let bigJobId = '';

      it('lists a failed job with its error code and message, and folds attempts into one row', () => inPage(page, async () => {
        await store.uploadFile({ container: 'incoming', name: 'real/notes.tif' }, writeTextAsTif(fixtures.path), 'image/tiff');
        const response = await fetch(`${host.baseUrl}/api/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ source: 'incoming/real/notes.tif', collection }) });
        const failed = await waitForJob(host.baseUrl, ((await response.json()) as { id: string }).id);
        expect(failed.status).toBe('Failed');
        const error = failed.errors[0]!;
        // A completed job run again: its second attempt.
        const first = jobs.get('int16')!;
        const rerun = await fetch(`${host.baseUrl}/api/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ source: 'incoming/real/int16.tif', collection, options: { tileSize: 256, blockSize: 256 }, force: true }) });
        const second = ((await rerun.json()) as { id: string }).id;
        expect(second).toBe(`${first.id}-a2`);
        await waitForJob(host.baseUrl, second);

        await page.goto(`${host.baseUrl}/api/dashboard/#/`);
        const failedRow = page.locator(`tr[data-job-id="${failed.id}"]`);
        await failedRow.locator('.error-code', { hasText: error.code }).waitFor();
        await failedRow.getByText(error.message.slice(0, 100), { exact: false }).waitFor();
        // One row for both attempts: the newest, with the first folded under it.
        const folded = page.locator(`tr[data-job-id="${second}"]`);
        await folded.locator('summary', { hasText: '(1 earlier)' }).waitFor();
        expect(await page.locator(`tr[data-job-id="${first.id}"]`).count()).toBe(0);
        await folded.locator('summary').click();
        await folded.getByRole('link', { name: first.id, exact: true }).waitFor();
        await page.screenshot({ path: join(screenshots, 'real-jobs.png'), fullPage: true });
        expectNoProblems();
      }), 240_000);

      it('filters the jobs list by source name', () => inPage(page, async () => {
        await page.goto(`${host.baseUrl}/api/dashboard/#/`);
        await page.getByLabel('Source').fill('real/polar');
        await page.getByLabel('Source').press('Enter');
        await page.waitForURL((url) => url.hash.includes('source=real%2Fpolar'));
        await page.locator(`tr[data-job-id="${jobs.get('polar')!.id}"]`).waitFor();
        await expect.poll(() => page.locator('tbody tr[data-job-id]').count(), screenPoll).toBe(1);
        expectNoProblems();
      }), 60_000);

      it('lists a running batch’s running jobs, then all of them in the order it started them, and filters the jobs list by batch', () => inPage(page, async () => {
        for (let i = 0; i < 16; i++) {
          await store.uploadFile({ container: 'incoming', name: `real-batch/scene-${i}.tif` }, writeRgbUint8(fixtures.path, 1400, 1000, `batch-${i}.tif`, { originX: 400_000 + i * 15_000 }), 'image/tiff');
        }
        const response = await fetch(`${host.baseUrl}/api/batches`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ source: 'incoming/real-batch/', collection: 'real-batch' }) });
        expect(response.status).toBe(202);
        batchId = ((await response.json()) as { id: string }).id;
        await page.goto(`${host.baseUrl}/api/dashboard/#/batches/${batchId}`);
        // While it says some are running, its jobs table lists them running.
        await page.waitForFunction(() => {
          const { document } = globalThis as unknown as PageGlobals;
          const counts = /(\d+) running/.exec(document.querySelector('.batch-counts')?.textContent ?? '');
          const statuses = [...document.querySelectorAll('section[aria-labelledby="jobs-heading"] tbody tr .status')].map((badge) => badge.textContent);
          return Number(counts?.[1] ?? 0) > 0 && statuses.includes('Running');
        }, undefined, { timeout: 120_000, polling: 100 });
        await page.screenshot({ path: join(screenshots, 'real-batch-running.png'), fullPage: true });

        await page.getByText('This batch has finished: Completed.').waitFor({ timeout: 240_000 });
        // Newest first, in the order the batch starts them: the reverse of the prefix's listing (blob names in lexical order:
        // scene-0, scene-1, scene-10 … scene-15, scene-2 … scene-9), whatever the jobs' ids (one per upload, not per batch).
        const listed = Array.from({ length: 16 }, (_, i) => `scene-${i}.tif`).sort();
        await expect.poll(async () => {
          const sources = await page.locator('section[aria-labelledby="jobs-heading"] tbody tr[data-job-id] td[data-label="Source"]').evaluateAll((cells) => cells.map((cell) => cell.textContent ?? ''));
          return sources.map((source) => /scene-\d+\.tif/.exec(source)?.[0] ?? source);
        }, screenPoll).toEqual([...listed].reverse());

        await page.goto(`${host.baseUrl}/api/dashboard/#/?batch=${batchId}`);
        await expect.poll(() => page.locator('tbody tr[data-job-id]').count(), screenPoll).toBe(16);
        expect(await page.locator('tbody td[data-label="Batch"]', { hasText: batchId }).count()).toBe(16);
        expectNoProblems();
      }), 420_000);

      it('keeps the page of a 150-tile job bounded: a paged grid, a timeline that scrolls in its box', () => inPage(page, async () => {
        // 3840 × 2560 in 256-pixel tiles: 15 columns, 10 rows.
        bigJobId = await submit('big', writeRgbUint8(fixtures.path, 3840, 2560, 'big.tif'), { tileSize: 256, blockSize: 256 });
        const big = await waitForJob(host.baseUrl, bigJobId, 420_000);
        expect(big.tiles.total).toBe(150);
        const pageHeight = async (id: string): Promise<number> => {
          await page.goto(`${host.baseUrl}/api/dashboard/#/jobs/${id}`);
          await page.getByText('This job has finished: Completed.').waitFor();
          await page.locator('.timeline').waitFor();
          await page.locator('.cog-status[data-cog-state="drawn"]').waitFor();
          return page.evaluate(() => (globalThis as unknown as PageGlobals).document.scrollingElement!.scrollHeight);
        };
        const small = await pageHeight(jobs.get('float32')!.id);
        const height = await pageHeight(bigJobId);
        await page.screenshot({ path: join(screenshots, 'real-150-tiles.png'), fullPage: true });
        expect(await page.locator('.tile-grid td[data-item-id]').count()).toBeLessThanOrEqual(12 * 16);
        // The timeline has all 150 bars but scrolls inside its box.
        expect(await page.locator('.timeline .bar').count()).toBe(150);
        const box = await page.locator('.timeline-scroll').evaluate((element) => ({ scroll: element.scrollHeight, client: element.clientHeight }));
        expect(box.scroll).toBeGreaterThan(box.client);
        expect(height, `150 tiles: ${height} px, 4 tiles: ${small} px`).toBeLessThan(small + 700);
        expect(height).toBeLessThan(2600);
        expectNoProblems();
      }), 480_000);

      it('works at phone width (390 px): no page scrolls sideways', () => inPage(page, async () => {
        const phone = await browser!.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
        try {
          const small = await phone.newPage();
          watch(small);
          const pages: Array<[string, string]> = [
            ['#/', 'tbody tr[data-job-id]'],
            [`#/jobs/${bigJobId}`, '.cog-status[data-cog-state="drawn"]'],
            [`#/jobs/${jobs.get('global')!.id}`, '.cog-status[data-cog-state="drawn"]'],
            ['#/batches', 'tbody tr'],
            [`#/batches/${batchId}`, 'section[aria-labelledby="jobs-heading"] tbody tr[data-job-id]'],
          ];
          for (const [hash, ready] of pages) {
            await small.goto(`${host.baseUrl}/api/dashboard/${hash}`);
            await small.locator(ready).first().waitFor();
            const size = await small.evaluate(() => {
              const { scrollingElement } = (globalThis as unknown as PageGlobals).document;
              return { scroll: scrollingElement!.scrollWidth, client: scrollingElement!.clientWidth };
            });
            expect(size.scroll, `${hash} is ${size.scroll} px wide in ${size.client}`).toBeLessThanOrEqual(size.client);
          }
          await small.screenshot({ path: join(screenshots, 'real-phone-batch.png'), fullPage: true });
        } finally {
          await phone.close();
        }
        expectNoProblems();
      }), 180_000);
    });
  });
}

/** What the tests read of the page's document (this project's Node types have no DOM). */
type PageGlobals = {
  document: {
    scrollingElement: { scrollWidth: number; clientWidth: number; scrollHeight: number } | null;
    querySelector(selector: string): { textContent: string | null } | null;
    querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }>;
  };
};
