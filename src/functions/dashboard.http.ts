/**
 * The dashboard's static files (built into dist/web by `npm run build`), served by the app itself
 * so it looks the same in Azure and on the local host.
 *
 * Anonymous on purpose, and only for these files: the page holds no data. Everything it shows
 * comes from the job API, which keeps its function keys (in Azure the page asks for one).
 * Only files that the build wrote are served, looked up by exact name, so no request path ever
 * reaches the file system; never source maps (the build writes none; one copied in is not served).
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { httpRoute } from './http.access.js';

/** dist/src/functions → dist/web (the build layout in Azure and locally). */
const webRoot = resolve(import.meta.dirname, '..', '..', 'web');

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Same-origin only. Blob URLs carry thumbnails fetched with the function key; geotiff.js decodes
 * in workers made from blob URLs; OpenLayers and Preact set inline styles from script.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The names of the files the build wrote in `root` (a flat folder) that may be served. */
function listBuiltFiles(root: string): Promise<Set<string>> {
  return readdir(root, { withFileTypes: true })
    .then((entries) => new Set(entries.filter((entry) => entry.isFile() && contentTypes[extname(entry.name)]).map((entry) => entry.name)))
    .catch(() => new Set<string>());
}

function notFound(detail: string): HttpResponseInit {
  return { status: 404, jsonBody: { title: 'Not found', status: 404, detail }, headers: { 'Content-Type': 'application/problem+json' } };
}

/** The handler serving the built files of `root` (read once per worker). */
export function createDashboardHandler(root: string): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  let builtFiles: Promise<Set<string>> | undefined;
  return (request) => serveDashboardFile(request, root, (builtFiles ??= listBuiltFiles(root)));
}

export const dashboardHandler = createDashboardHandler(webRoot);

async function serveDashboardFile(request: HttpRequest, root: string, builtFiles: Promise<Set<string>>): Promise<HttpResponseInit> {
  const url = new URL(request.url);
  const requested = request.params['path'] ?? '';
  if (requested === '' && !url.pathname.endsWith('/')) {
    // The page's relative links (app.js, app.css) need the trailing slash.
    return { status: 301, headers: { Location: `${url.pathname}/${url.search}` } };
  }
  const name = requested === '' ? 'index.html' : requested;
  const files = await builtFiles;
  if (files.size === 0) return notFound('The dashboard is not built: run "npm run build"');
  if (!files.has(name)) return notFound('No such dashboard file');
  const body = await readFile(join(root, name));
  return {
    status: 200,
    body,
    headers: {
      'Content-Type': contentTypes[extname(name)]!,
      // Small files under fixed names: always revalidate, so a deployment shows at once.
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      ...(name.endsWith('.html') ? { 'Content-Security-Policy': contentSecurityPolicy, 'Referrer-Policy': 'no-referrer' } : {}),
    },
  };
}

httpRoute('dashboard', {
  route: 'dashboard/{*path}',
  methods: ['GET'],
  handler: dashboardHandler,
});
