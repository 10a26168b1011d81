/**
 * The dashboard's collections (issue 24) in headless Chromium against the real local host: the
 * Collections page lists a definition written through the API with its sources and gates in
 * words; a collection's page shows its parts and links its jobs; its editor refuses a definition
 * naming an unknown collection (the path at fault listed), then saves a fixed one as the next
 * version; a change saved elsewhere meanwhile is refused, not overwritten. A job a quality gate
 * quarantined shows the rule and measured value on its page; Approve (confirmed) publishes it and
 * the page follows the decision to Completed. No console error.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardMissing, openDashboardBrowser, whyChromiumMissing } from '../support/dashboard.browser.js';
import { writeRgbUint8 } from '../support/fixtures.js';
import { useHostOnOwnAzurite, waitForJob } from '../support/local.host.js';

const chromiumMissing = whyChromiumMissing();
const definition = { title: 'Elevation', sources: [{ container: 'uploads', prefix: 'dem/' }], gates: { maxNodataShare: 0.25, crs: { family: 'projected' } }, options: { compression: 'ZSTD' } };

if (chromiumMissing) {
  console.warn(`Dashboard collections test skipped: ${chromiumMissing}`);
  describe('dashboard collections in headless Chromium', () => {
    it.skip(chromiumMissing, () => {});
  });
} else {
  describe('dashboard collections in headless Chromium', () => {
    const env = useHostOnOwnAzurite('dashboard-collections', { INGEST_SOURCE_CONTAINERS: 'uploads,incoming' });
    let browser: Browser | undefined;
    let page: Page;
    const problems: string[] = [];

    const put = (id: string, body: unknown, ifMatch?: string) =>
      fetch(`${env.host.baseUrl}/api/collections/${id}`, { method: 'PUT', headers: { 'Content-Type': 'application/json', ...(ifMatch ? { 'If-Match': ifMatch } : {}) }, body: JSON.stringify(body) });

    beforeAll(async () => {
      if (dashboardMissing) throw new Error(dashboardMissing);
      expect((await put('dem', definition)).status).toBe(201);
      ({ browser, page } = await openDashboardBrowser());
      page.on('console', (message) => {
        // The editor's refused save is a 400 the page reports itself; Chromium logs the failed fetch too.
        if (message.type() === 'error' && /status of 4(00|12)/.test(message.text())) return;
        // Software GL's performance notes (the job page's map), as in dashboard.test.ts.
        if (message.text().startsWith('[.WebGL-')) return;
        if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
    });

    it('lists the collection with its sources and gates in words, and links its page', async () => {
      await page.goto(`${env.host.baseUrl}/api/dashboard/#/collections`);
      const row = page.locator('table.collections tbody tr', { hasText: 'dem' });
      await expect.poll(() => row.innerText()).toContain('uploads/dem/');
      expect(await row.innerText()).toContain('nodata at most 25%');
      expect(await row.innerText()).toContain('CRS projected');
      expect(await page.locator('table.collections caption').innerText()).toContain('rasters');
      await row.locator('a', { hasText: 'dem' }).click();
      await expect.poll(() => page.locator('.collection-version').innerText()).toBe('1');
      expect(await page.locator('.collection-gates').innerText()).toContain('nodata at most 25%');
      expect(await page.locator('a', { hasText: 'jobs of dem' }).getAttribute('href')).toBe('#/?collection=dem');
      expect(problems.splice(0)).toEqual([]);
    });

    it('refuses a definition naming an unknown collection with its path, then saves the next version', async () => {
      await page.goto(`${env.host.baseUrl}/api/dashboard/#/collections/dem`);
      const editor = page.locator('#definition-text');
      await expect.poll(() => editor.inputValue()).toContain('"maxNodataShare": 0.25');
      await editor.fill(JSON.stringify({ ...definition, derivedFrom: { collection: 'no-such', product: 'slope' } }));
      await page.getByRole('button', { name: 'Save as version 2' }).click();
      const alert = page.locator('[role="alert"]');
      await expect.poll(() => alert.innerText()).toContain('derivedFrom.collection');
      await editor.fill(JSON.stringify({ ...definition, title: 'Elevation, 1 m' }));
      await page.getByRole('button', { name: 'Save as version 2' }).click();
      await expect.poll(() => page.locator('.collection-version').innerText()).toBe('2');
      expect(await page.locator('main').innerText()).toContain('Elevation, 1 m');
      const stored = (await (await fetch(`${env.host.baseUrl}/api/collections/dem`)).json()) as { version: number; definition: { title: string } };
      expect(stored).toMatchObject({ version: 2, definition: { title: 'Elevation, 1 m' } });
      expect(problems.splice(0)).toEqual([]);
    });

    it('refuses to overwrite a version saved elsewhere meanwhile', async () => {
      await page.goto(`${env.host.baseUrl}/api/dashboard/#/collections/dem`);
      await expect.poll(() => page.locator('.collection-version').innerText()).toBe('2');
      expect((await put('dem', { ...definition, title: 'Saved elsewhere' }, '"2"')).status).toBe(200);
      await page.locator('#definition-text').fill(JSON.stringify({ ...definition, title: 'Mine' }));
      await page.getByRole('button', { name: 'Save as version 3' }).click();
      await expect.poll(() => page.locator('[role="alert"]').innerText()).toContain('current version is 3');
      const stored = (await (await fetch(`${env.host.baseUrl}/api/collections/dem`)).json()) as { definition: { title: string } };
      expect(stored.definition.title).toBe('Saved elsewhere');
      expect(problems.splice(0)).toEqual([]);
    });

    it('shows a quarantined job with its failed gate, and approves it after a confirmation', async () => {
      expect((await put('gated', { sources: [{ container: 'incoming', prefix: 'gated/' }], gates: { crs: { epsg: [4326] } } })).status).toBe(201);
      await env.store.uploadFile({ container: 'incoming', name: 'gated/scene.tif' }, writeRgbUint8(env.fixtures.path, 200, 150, 'scene.tif'), 'image/tiff');
      const submitted = await fetch(`${env.host.baseUrl}/api/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ source: 'incoming/gated/scene.tif', collection: 'gated' }) });
      expect(submitted.status).toBe(202);
      const { id } = (await submitted.json()) as { id: string };
      expect((await waitForJob(env.host.baseUrl, id)).status).toBe('Quarantined');

      await page.goto(`${env.host.baseUrl}/api/dashboard/#/jobs/${encodeURIComponent(id)}`);
      const panel = page.locator('section.quarantine');
      await expect.poll(() => panel.innerText()).toContain('crs.epsg');
      expect(await panel.innerText()).toContain('EPSG:32633');
      expect(await page.locator('.status').first().innerText()).toBe('Quarantined');
      await panel.getByRole('button', { name: 'Approve' }).click();
      await panel.getByRole('button', { name: 'Yes, publish' }).click();
      await expect.poll(() => page.locator('.quarantine-decision').innerText(), { timeout: 90_000 }).toContain('its outputs are published');
      await expect.poll(() => page.locator('.status').first().innerText()).toBe('Completed');
      expect(problems.splice(0)).toEqual([]);
    }, 180_000);

    it("shows each derived collection's outcome on the job's page: one published, one failed with its reason", async () => {
      expect((await put('scenes', { sources: [{ container: 'incoming', prefix: 'scenes/' }] })).status).toBe(201);
      expect((await put('scenes-ndi', { derivedFrom: { collection: 'scenes', product: 'normalized-difference', bands: [1, 2] } })).status).toBe(201);
      expect((await put('scenes-hillshade', { derivedFrom: { collection: 'scenes', product: 'hillshade' } })).status).toBe(201);
      await env.store.uploadFile({ container: 'incoming', name: 'scenes/rgb.tif' }, writeRgbUint8(env.fixtures.path, 120, 80, 'rgb.tif'), 'image/tiff');
      const submitted = await fetch(`${env.host.baseUrl}/api/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ source: 'incoming/scenes/rgb.tif', collection: 'scenes' }) });
      const { id } = (await submitted.json()) as { id: string };
      expect((await waitForJob(env.host.baseUrl, id)).status).toBe('Completed');

      await page.goto(`${env.host.baseUrl}/api/dashboard/#/jobs/${encodeURIComponent(id)}`);
      const section = page.locator('section.derived');
      await expect.poll(() => section.innerText()).toContain('scenes-ndi (normalized-difference): 1 item published');
      const failed = section.locator('li.derived-failed');
      expect(await failed.innerText()).toContain('scenes-hillshade (hillshade): failed (1)');
      expect(await failed.innerText()).toContain('INVALID_INPUT');
      expect(await failed.innerText()).toContain('one-band DEM; the source item has 3 bands');
      expect(await section.getByRole('link', { name: 'scenes-ndi' }).getAttribute('href')).toBe('#/collections/scenes-ndi');
      expect(await page.locator('.status').first().innerText()).toBe('Completed');
      expect(problems.splice(0)).toEqual([]);
    }, 180_000);
  });
}
