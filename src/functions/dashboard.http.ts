/**
 * The dashboard's static files (built into dist/web by `npm run build`), served by the app itself
 * so it looks the same in Azure and on the local host.
 *
 * Anonymous on purpose, and only for these files: the page holds no data. Everything it shows
 * comes from the job API, which keeps its function keys (in Azure the page asks for one).
 * Only files that the build wrote are served, looked up by exact name, so no request path ever
 * reaches the file system.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

/** dist/src/functions → dist/web (the build layout in Azure and locally). */
const webRoot = resolve(import.meta.dirname, '..', '..', 'web');

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
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

let builtFiles: Promise<Set<string>> | undefined;

/** The names of the files the build wrote (flat folder), read once per worker. */
function listBuiltFiles(): Promise<Set<string>> {
  builtFiles ??= readdir(webRoot, { withFileTypes: true })
    .then((entries) => new Set(entries.filter((entry) => entry.isFile() && contentTypes[extname(entry.name)]).map((entry) => entry.name)))
    .catch(() => new Set<string>());
  return builtFiles;
}

function notFound(detail: string): HttpResponseInit {
  return { status: 404, jsonBody: { title: 'Not found', status: 404, detail }, headers: { 'Content-Type': 'application/problem+json' } };
}

export async function dashboardHandler(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const url = new URL(request.url);
  const requested = request.params['path'] ?? '';
  if (requested === '' && !url.pathname.endsWith('/')) {
    // The page's relative links (app.js, app.css) need the trailing slash.
    return { status: 301, headers: { Location: `${url.pathname}/${url.search}` } };
  }
  const name = requested === '' ? 'index.html' : requested;
  const files = await listBuiltFiles();
  if (files.size === 0) return notFound('The dashboard is not built: run "npm run build"');
  if (!files.has(name)) return notFound('No such dashboard file');
  const body = await readFile(join(webRoot, name));
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

app.http('dashboard', {
  route: 'dashboard/{*path}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: dashboardHandler,
});
