/**
 * The dashboard's static-files function. Under vitest it serves the web/ folder beside the
 * sources (dist/web once built), which holds index.html and app.css: enough for its rules.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { dashboardHandler } from '../../src/functions/dashboard.http.js';

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
