/**
 * Headless Chromium for the dashboard tests: where it is, how it is started, and a desktop page
 * that reaches nothing but the local host (any other host is refused, so a page that tried to
 * fetch from outside fails its test instead of waiting on the network).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { projectRoot } from './local.host.js';

export const chromiumPath = '/usr/bin/chromium';
export const chromiumFlags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Why the Chromium tests cannot run here, or undefined when they can (a function: callers narrow its answer). */
export const whyChromiumMissing = (): string | undefined => (existsSync(chromiumPath) ? undefined : `needs Chromium at ${chromiumPath}`);
/** Why the dashboard is not there to test, or undefined when it is built. */
export const dashboardMissing = existsSync(join(projectRoot, 'dist', 'web', 'index.html')) ? undefined : 'dist/web is missing: run "npm run build"';

export interface DashboardBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
}

/** Starts Chromium with one desktop page (1280×1000, 30 s default timeout) limited to the local host. */
export async function openDashboardBrowser(): Promise<DashboardBrowser> {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    await context.route(
      (url) => !['127.0.0.1', 'localhost'].includes(url.hostname) && url.protocol !== 'data:',
      (route) => route.abort('blockedbyclient'),
    );
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    return { browser, context, page };
  } catch (error) {
    await browser.close();
    throw error;
  }
}
