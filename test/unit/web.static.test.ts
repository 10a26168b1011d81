/**
 * The dashboard's static-files function. Under vitest it serves the web/ folder beside the
 * sources (dist/web once built), which holds index.html and app.css: enough for its rules.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterAll, describe, expect, it } from 'vitest';
import { createDashboardHandler, dashboardHandler } from '../../src/functions/dashboard.http.js';

async function get(pathname: string, path: string | undefined) {
  const request = new HttpRequest({ method: 'GET', url: `http://localhost:7071${pathname}`, params: path === undefined ? {} : { path } });
  const response = await dashboardHandler(request, new InvocationContext());
  return { status: response.status, headers: new Headers(response.headers as Record<string, string>), body: response.body };
}

describe('dashboard static files', () => {
  it('sends the bare folder to its slash, so the page’s relative links resolve', async () => {
    const response = await get('/api/dashboard', undefined);
    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toBe('/api/dashboard/');
  });

  it('serves index.html at the folder, with a same-origin content security policy', async () => {
    const response = await get('/api/dashboard/', '');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(String(response.body)).toContain('<div id="app">');
  });

  it('serves a built file by its exact name and type', async () => {
    const response = await get('/api/dashboard/app.css', 'app.css');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('serves nothing else: other folders, other types, unknown names', async () => {
    for (const path of ['../package.json', '..%2Fhost.json', '/etc/passwd', 'main.ts', 'nope.js', 'app.css/']) {
      const response = await get(`/api/dashboard/${path}`, path);
      expect(response.status, path).toBe(404);
      expect(JSON.stringify(response.body ?? '')).not.toContain('/work');
    }
  });
});

describe('dashboard build', () => {
  const projectRoot = resolve(import.meta.dirname, '..', '..');
  const outdir = mkdtempSync(join(tmpdir(), 'dashboard-build-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('writes no source maps, and the route serves none even when one is copied in', async () => {
    // The production build (npm run build runs the same script into dist/web).
    await promisify(execFile)(process.execPath, [join(projectRoot, 'scripts', 'build-web.mjs'), '--outdir', outdir], { cwd: projectRoot });
    const files = readdirSync(outdir);
    expect(files).toContain('app.js');
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
    for (const file of files.filter((name) => name.endsWith('.js') || name.endsWith('.css'))) expect(readFileSync(join(outdir, file), 'utf8'), file).not.toContain('sourceMappingURL');

    writeFileSync(join(outdir, 'app.js.map'), JSON.stringify({ version: 3, sources: ['../../web/main.ts'], sourcesContent: ['secret source'] }));
    const serve = createDashboardHandler(outdir);
    const get = (path: string) => serve(new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/dashboard/${path}`, params: { path } }), new InvocationContext());
    expect((await get('app.js')).status).toBe(200);
    for (const path of ['app.js.map', 'app.css.map', 'chunk.js.map']) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(JSON.stringify(response.jsonBody)).not.toContain('secret source');
    }
  });
});
