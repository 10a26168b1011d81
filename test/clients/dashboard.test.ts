/**
 * The dashboard (web/, served by the app at /api/dashboard/) in headless Chromium against the real
 * local host on its own Azurite: the jobs page lists jobs and filters them, a job page shows its
 * tiles, timeline and map (the COG read from the blob with range requests), updates live while the
 * job runs, shows a tile failed by a real fault with its error, and its Retry button starts a new
 * attempt that completes once the fault is gone. A real batch over a prefix (one of its sources not
 * a raster) shows on the batches page and its own page, counts reaching the total, its failed
 * source with code and message, its jobs linking to their pages, and "Re-run failed sources".
 *
 * The fault: a lease held on one tile's STAC item blob before the job starts. A leased blob
 * refuses writes, so that tile fails after its retries while the others succeed.
 * Screenshots land in test-results/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, type BlobLeaseClient } from '@azure/storage-blob';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import { deriveSourceKey } from '../../src/jobs/job.id.js';
import type { BatchView } from '../../src/jobs/batch.view.js';
import type { JobView } from '../../src/jobs/job.view.js';
import type { TileEntry, TileLedgerPage } from '../../src/jobs/tile.ledger.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import { createFixtureDir, writeRgbUint8, type FixtureDir } from '../support/fixtures.js';
import { projectRoot, startLocalHost, waitForJob, type LocalHost } from '../support/local.host.js';

const chromiumPath = '/usr/bin/chromium';
// Chromium's own background connections are refused on this closed network, many at a time.
const chromiumFlags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const screenshots = join(projectRoot, 'test-results', 'screenshots');
const collection = 'dashboard';
// Web Mercator output, which the dashboard draws without a projection library; 256-pixel tiles make a grid of several.
const jobOptions = { tileSize: 256, blockSize: 256, targetCrs: 'EPSG:3857' };

const chromiumMissing = existsSync(chromiumPath)
  ? undefined
  : `needs Chromium at ${chromiumPath} (Debian's package: apt-get install chromium, as scripts/install-stac-browser.sh does)`;
const dashboardMissing = existsSync(join(projectRoot, 'dist', 'web', 'index.html')) ? undefined : 'dist/web is missing: run "npm run build"';

/** Console lines that say nothing about the page: software-GL performance notes. */
function isBenign(text: string): boolean {
  return text.startsWith('[.WebGL-');
}

/** The pages' polls: the job and batch lists and views (not COG reads, thumbnails or the page's own files). */
function isPollOfTheApi(url: string): boolean {
  const { pathname } = new URL(url);
  return /^\/api\/(jobs|batches)(\/|$)/.test(pathname) && !pathname.startsWith('/api/dashboard/');
}

function isLoopback(url: string): boolean {
  const { hostname, protocol } = new URL(url);
  return protocol === 'data:' || protocol === 'blob:' || hostname === '127.0.0.1' || hostname === 'localhost';
}

if (chromiumMissing) {
  console.warn(`Dashboard browser tests skipped: ${chromiumMissing}`);
  describe('dashboard in headless Chromium', () => {
    it.skip(chromiumMissing, () => {});
  });
} else {
  describe('dashboard in headless Chromium', () => {
    let azurite: RunningAzurite;
    let azuriteDir: string | undefined;
    let host: LocalHost;
    let fixtures: FixtureDir;
    let store: BlobStore;
    let browser: Browser | undefined;
    let page: Page;
    let completedJob: JobView;
    let failingJobId: string;
    let leasedItemId: string;
    let lease: BlobLeaseClient | undefined;
    /** Console errors and warnings, page errors and failed requests since the last check. */
    const problems: string[] = [];
    /** Status codes of the page's reads of /api/cogs/. */
    const cogReads: number[] = [];

    async function submit(name: string): Promise<string> {
      await store.uploadFile({ container: 'incoming', name }, writeRgbUint8(fixtures.path, 900, 500, name.split('/').at(-1)), 'image/tiff');
      const response = await fetch(`${host.baseUrl}/api/jobs`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ source: `incoming/${name}`, collection, options: jobOptions }),
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { id: string }).id;
    }

    async function readTiles(id: string): Promise<TileEntry[]> {
      const response = await fetch(`${host.baseUrl}/api/jobs/${encodeURIComponent(id)}/tiles`);
      expect(response.status).toBe(200);
      return ((await response.json()) as TileLedgerPage).tiles;
    }

    /** Runs a test's steps; when one fails, the failure also tells what the page logged. */
    async function inPage(steps: () => Promise<void>): Promise<void> {
      try {
        await steps();
      } catch (error) {
        if (error instanceof Error) {
          if (problems.length) error.message += `\n\nWhat the page logged:\n${problems.splice(0).join('\n')}`;
          const shown = await page.locator('main').innerText({ timeout: 2000 }).catch(() => '(no page)');
          error.message += `\n\nWhat the page showed:\n${shown.slice(0, 3000)}\n\nThe host's last lines:\n${host.output().slice(-4000)}`;
        }
        throw error;
      }
    }

    function expectNoProblems(): void {
      const found = problems.splice(0);
      expect(found, found.join('\n')).toEqual([]);
    }

    function cell(itemId: string) {
      return page.locator(`.tile-grid td[data-item-id="${itemId}"]`);
    }

    beforeAll(async () => {
      if (dashboardMissing) throw new Error(dashboardMissing);
      azuriteDir = mkdtempSync(join(tmpdir(), 'dashboard-azurite-'));
      azurite = await startAzurite({ location: azuriteDir });
      host = await startLocalHost({ storageConnectionString: azurite.connectionString, env: { INGEST_SOURCE_CONTAINERS: 'uploads,incoming' } });
      fixtures = createFixtureDir('dashboard-');
      store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });

      completedJob = await waitForJob(host.baseUrl, await submit('dashboard/first.tif'));
      expect(completedJob.status).toBe('Completed');
      expect(completedJob.tiles.total).toBeGreaterThan(2);

      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
      const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
      // Nothing the page needs is off this machine: anything else is refused at once.
      await context.route(
        (url) => !isLoopback(url.href),
        (route) => route.abort('blockedbyclient'),
      );
      page = await context.newPage();
      page.setDefaultTimeout(30_000);
      page.on('console', (message: ConsoleMessage) => {
        if ((message.type() === 'error' || message.type() === 'warning') && !isBenign(message.text())) problems.push(`console ${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('requestfailed', (request) => {
        // A page aborts its own poll of the API when it is left for another (the batch page's jobs, the jobs list).
        if (request.failure()?.errorText === 'net::ERR_ABORTED' && isPollOfTheApi(request.url())) return;
        problems.push(`request failed: ${request.url()}: ${request.failure()?.errorText}`);
      });
      page.on('response', (response) => {
        if (new URL(response.url()).pathname.startsWith('/api/cogs/')) cogReads.push(response.status());
      });
      mkdirSync(screenshots, { recursive: true });
    }, 600_000);

    afterAll(async () => {
      await lease?.releaseLease().catch(() => undefined);
      await browser?.close();
      await host?.stop();
      await azurite?.stop();
      fixtures?.remove();
      if (azuriteDir) rmSync(azuriteDir, { recursive: true, force: true });
    });

    it('leads from the host’s front door to the jobs page, which lists jobs and filters them', () => inPage(async () => {
      await page.goto(`${host.baseUrl}/`);
      expect(new URL(page.url()).pathname).toBe('/api/dashboard/');
      await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: completedJob.id }) });
      await row.getByText('Completed', { exact: true }).waitFor();
      await row.getByText(`${completedJob.tiles.total} / ${completedJob.tiles.total}`).waitFor();
      await row.getByText('incoming/dashboard/first.tif').waitFor();
      await page.screenshot({ path: join(screenshots, 'jobs.png'), fullPage: true });

      // Filtered by the server: no failed job yet, then the filter cleared again.
      await page.getByRole('checkbox', { name: 'Failed' }).check();
      await page.getByText('No jobs match these filters.').waitFor();
      expect(new URL(page.url()).hash).toBe('#/?status=Failed');
      await page.getByRole('link', { name: 'Clear filters' }).click();
      await page.getByRole('link', { name: completedJob.id }).waitFor();
      expectNoProblems();
    }), 120_000);

    it('shows a job’s tiles, timeline and map, with a COG drawn from its blob by range requests', () => inPage(async () => {
      await page.getByRole('link', { name: completedJob.id }).click();
      await page.getByRole('heading', { level: 1, name: `Job ${completedJob.id}` }).waitFor();
      await page.getByText('This job has finished: Completed.').waitFor();
      const tiles = await readTiles(completedJob.id);
      expect(tiles.length).toBe(completedJob.tiles.total);
      for (const tile of tiles) expect(await cell(tile.itemId).getAttribute('data-state')).toBe('done');
      await page.getByText(`Done: ${tiles.length}`).waitFor();
      // One timeline bar per tile, each named by tile, state and duration.
      expect(await page.locator('.timeline .bar').count()).toBe(tiles.length);
      await page.locator('.timeline .bar title', { hasText: `${tiles[0]!.itemId}: Done` }).waitFor({ state: 'attached' });

      await page.locator('.cog-status[data-cog-state="drawn"]').waitFor();
      expect(cogReads).toContain(206);
      // The selected tile's details, its thumbnail loaded through /api/cogs/.
      const first = tiles.find((tile) => tile.thumbnailHref)!;
      await cell(first.itemId).getByRole('button').click();
      await page.getByRole('heading', { level: 3, name: `Tile ${first.itemId}` }).waitFor();
      await page.waitForFunction(
        (href) => Array.from((globalThis as unknown as PageImages).document.images).some((image) => image.dataset['href'] === href && image.complete && image.naturalWidth > 0),
        first.thumbnailHref,
      );
      await page.locator('.cog-status', { hasText: `The COG of ${first.itemId} is drawn` }).waitFor();
      await page.screenshot({ path: join(screenshots, 'job.png'), fullPage: true });
      expectNoProblems();
    }), 120_000);

    it('asks for sign-in when the API refuses, sends a pasted token as Authorization: Bearer (never in a URL), and shows who is signed in with which role', () => inPage(async () => {
      // The local host here runs with sign-in off; a check in front of the real API stands in for
      // the host with HOST_SIGN_IN (test/host/sign.in.test.ts covers that host), in a fresh tab.
      const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
      const token = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ name: 'ada', roles: ['operator'] })}.signature`;
      const signedIn = await browser!.newContext({ viewport: { width: 1280, height: 1000 } });
      const sent: Array<{ path: string; authorization: string | undefined }> = [];
      await signedIn.route(
        (url) => url.pathname.startsWith('/api/') && !url.pathname.startsWith('/api/dashboard/'),
        async (route) => {
          const given = route.request().headers()['authorization'];
          sent.push({ path: new URL(route.request().url()).pathname, authorization: given });
          if (given !== `Bearer ${token}`) return route.fulfill({ status: 401, contentType: 'application/problem+json', body: JSON.stringify({ title: 'Sign-in required', status: 401 }) });
          return route.continue();
        },
      );
      try {
        const tab = await signedIn.newPage();
        await tab.goto(`${host.baseUrl}/api/dashboard/#/jobs/${completedJob.id}`);
        await tab.getByLabel('or paste a token (kept for this tab only)').fill(token);
        await tab.getByRole('button', { name: 'Use token' }).click();
        await tab.getByText('This job has finished: Completed.').waitFor();
        await tab.getByTestId('sign-in-state').filter({ hasText: 'Signed in as ada (operator)' }).waitFor();
        // The COG's range requests and the thumbnails carry the token too.
        await tab.locator('.cog-status[data-cog-state="drawn"]').waitFor();
        await tab.locator('img.thumbnail').waitFor();
        expect(sent.some((request) => request.path.startsWith('/api/cogs/') && request.authorization === `Bearer ${token}`)).toBe(true);
        expect(sent.filter((request) => request.path.startsWith('/api/jobs/') && request.authorization === `Bearer ${token}`).length).toBeGreaterThan(0);
        expect(sent.every((request) => !request.path.includes(token))).toBe(true);
        expect(tab.url()).not.toContain(token);
        expect(await tab.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length)).toBe(1);
        await tab.getByRole('button', { name: 'Forget token' }).click();
        expect(await tab.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length)).toBe(0);
      } finally {
        await signedIn.close();
      }
    }), 120_000);

    it('follows a job live until a tile fails through a held lease, then shows that tile with its error', () => inPage(async () => {
      // The item blob of the tile at row 0, column 1 exists and is leased before the job starts.
      const name = 'dashboard/leased.tif';
      leasedItemId = `${deriveSourceKey('incoming', name)}-r0-c1`;
      const stac = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('stac');
      await stac.createIfNotExists();
      const itemBlob = stac.getBlockBlobClient(`${collection}/${leasedItemId}/${leasedItemId}.json`);
      await itemBlob.upload('{}', 2, { blobHTTPHeaders: { blobContentType: 'application/json' } });
      lease = itemBlob.getBlobLeaseClient();
      await lease.acquireLease(-1);

      failingJobId = await submit(name);
      await page.goto(`${host.baseUrl}/api/dashboard/#/jobs/${failingJobId}`);
      await page.getByRole('heading', { level: 1, name: `Job ${failingJobId}` }).waitFor();
      // Seen while it runs: the leased tile not failed yet.
      await page.getByText('Live: updated every').waitFor();
      await cell(leasedItemId).waitFor();
      expect(await cell(leasedItemId).getAttribute('data-state')).not.toBe('failed');
      // The same document from here on: what follows arrives by polling, not by reloading.
      await page.evaluate(() => ((globalThis as unknown as { liveMarker: string }).liveMarker = 'same page'));

      await page.locator(`.tile-grid td[data-item-id="${leasedItemId}"][data-state="failed"]`).waitFor({ timeout: 180_000 });
      await page.getByText('This job has finished: Failed.').waitFor({ timeout: 60_000 });
      expect(await page.evaluate(() => (globalThis as unknown as { liveMarker?: string }).liveMarker)).toBe('same page');

      const failed = (await readTiles(failingJobId)).filter((tile) => tile.state === 'failed');
      expect(failed.map((tile) => tile.itemId)).toEqual([leasedItemId]);
      const error = failed[0]!.error!;
      const row = page.locator('.failures tr.failed-tile', { hasText: leasedItemId });
      await row.getByText(error.code, { exact: true }).waitFor();
      await row.getByText(error.message, { exact: true }).waitFor();
      await page.getByRole('button', { name: 'Retry failed tiles' }).waitFor();
      // The other tiles are done, and the map still draws one of their COGs.
      await page.locator('.cog-status[data-cog-state="drawn"]').waitFor();
      await page.screenshot({ path: join(screenshots, 'job-failed.png'), fullPage: true });
      expectNoProblems();
    }), 300_000);

    it('retries the failed tile from the page once the lease is gone: a new attempt that completes', () => inPage(async () => {
      await lease!.releaseLease();
      lease = undefined;
      await page.getByRole('button', { name: 'Retry failed tiles' }).click();
      await page.waitForURL((url) => url.hash.startsWith('#/jobs/') && !url.hash.endsWith(failingJobId));
      const retryId = decodeURIComponent(new URL(page.url()).hash.slice('#/jobs/'.length));
      await page.getByRole('heading', { level: 1, name: `Job ${retryId}` }).waitFor();
      await page.getByRole('link', { name: failingJobId }).waitFor();

      await page.getByText('This job has finished: Completed.').waitFor({ timeout: 180_000 });
      const retried = await waitForJob(host.baseUrl, retryId);
      expect(retried.status).toBe('Completed');
      expect(retried.previousAttempt).toBe(failingJobId);
      expect(retried.attempt).toBe(2);
      await page.locator(`.tile-grid td[data-item-id="${leasedItemId}"][data-state="done"]`).waitFor();
      expect(await page.locator('.tile-grid td[data-state="done"]').count()).toBe(retried.tiles.total);
      // Only the failed tile ran again; the page says the others were taken over.
      await page.getByText(`(${retried.tiles.total - 1} reused from the previous attempt)`).waitFor();
      await page.screenshot({ path: join(screenshots, 'job-retried.png'), fullPage: true });
      expectNoProblems();
    }), 300_000);

    it('shows a batch over a prefix: on the batches page, then its counts reaching the total, its failed source, its jobs, and why no re-run is offered for it', () => inPage(async () => {
      // Three rasters and one upload that is not a raster, in a container other than uploads/ (whose trigger would start jobs by itself).
      const prefix = 'dashboard-batch/';
      for (let i = 0; i < 3; i++) {
        await store.uploadFile({ container: 'incoming', name: `${prefix}scene-${i}.tif` }, writeRgbUint8(fixtures.path, 64, 48, `batch-scene-${i}.tif`, { originX: 500_000 + i * 10_000 }), 'image/tiff');
      }
      await store.uploadBytes({ container: 'incoming', name: `${prefix}broken.tif` }, Buffer.from('not a raster at all'), 'image/tiff');
      const response = await fetch(`${host.baseUrl}/api/batches`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ source: `incoming/${prefix}`, collection: 'dashboard-batch' }),
      });
      expect(response.status).toBe(202);
      const batchId = ((await response.json()) as { id: string }).id;

      await page.goto(`${host.baseUrl}/api/dashboard/`);
      await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Batches' }).click();
      await page.getByRole('heading', { level: 1, name: 'Batches' }).waitFor();
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: batchId }) });
      await row.getByText('incoming/dashboard-batch/').waitFor();
      await row.getByRole('link', { name: batchId }).click();

      await page.getByRole('heading', { level: 1, name: `Batch ${batchId}` }).waitFor();
      await page.getByText('This batch has finished: Completed.').waitFor({ timeout: 180_000 });
      await page.locator('.batch-counts', { hasText: '4 in all: 3 done, 1 failed, 0 skipped, 0 running' }).waitFor();
      await page.getByText('4 of 4 sources (100 %)').waitFor();
      const bar = page.getByRole('progressbar', { name: 'Sources ended' });
      expect([await bar.getAttribute('value'), await bar.getAttribute('max')]).toEqual(['4', '4']);

      // What the page shows is what the API says.
      const view = (await (await fetch(`${host.baseUrl}/api/batches/${batchId}`)).json()) as BatchView;
      expect(view.counts).toMatchObject({ total: 4, done: 3, failed: 1 });
      const failure = view.failures[0]!;
      expect(failure.source).toBe(`incoming/${prefix}broken.tif`);
      const failureRow = page.locator('.batch-failures tbody tr', { hasText: failure.source });
      await failureRow.getByText(failure.code, { exact: true }).waitFor();
      await failureRow.getByText(failure.message, { exact: true }).waitFor();
      // Its four jobs, each linking to its job page.
      const jobRows = page.locator('section[aria-labelledby="jobs-heading"] tbody tr');
      await page.locator('section[aria-labelledby="jobs-heading"] tbody tr a').nth(3).waitFor();
      expect(await jobRows.count()).toBe(4);
      await page.screenshot({ path: join(screenshots, 'batch.png'), fullPage: true });

      // Its one failed source is not a raster: a permanent failure, so no re-run is offered, and the page says why.
      await page.getByText('No failed source of this batch can be helped by a retry (1 permanent).').waitFor();
      await page.locator('.rerun-skipped li', { hasText: failure.jobId! }).getByText(/permanent failure/).waitFor();
      expect(await page.getByRole('button', { name: 'Re-run failed sources' }).count()).toBe(0);
      const failedJob = page.locator('section[aria-labelledby="jobs-heading"]').getByRole('link', { name: failure.jobId! });
      await failedJob.click();
      await page.getByRole('heading', { level: 1, name: `Job ${failure.jobId}` }).waitFor();
      await page.getByRole('note').getByText(/is a permanent failure/).waitFor();
      expect(await page.getByRole('button', { name: /^Retry/ }).count()).toBe(0);
      await page.goBack();

      const doneJob = page.getByRole('row').filter({ hasText: `incoming/${prefix}scene-0.tif` }).getByRole('link');
      const doneJobId = (await doneJob.innerText()).trim();
      await doneJob.click();
      await page.getByRole('heading', { level: 1, name: `Job ${doneJobId}` }).waitFor();
      await page.getByText('This job has finished: Completed.').waitFor();
      expectNoProblems();
    }), 300_000);
  });
}

type PageImages = { document: { images: ArrayLike<{ complete: boolean; naturalWidth: number; dataset: Record<string, string | undefined> }> } };
