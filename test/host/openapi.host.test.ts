/**
 * The local host serves the API's OpenAPI description, and the app's real answers parse with the
 * contract it is generated from (src/api/contract.ts): a job's submission, view, tiles, Durable
 * status and list, and a problem+json 404.
 */
import { describe, expect, it } from 'vitest';
import { durableStatusSchema, jobPageSchema, jobViewSchema, problemSchema, submitAnswerSchema, tilePageSchema } from '../../src/api/contract.js';
import { writeRgbUint8 } from '../support/fixtures.js';
import { useHostOnOwnAzurite, waitForJob } from '../support/local.host.js';

const env = useHostOnOwnAzurite('openapi');

async function getJson(path: string, init: RequestInit = {}): Promise<{ status: number; contentType: string | null; json: unknown }> {
  const response = await fetch(`${env.host.baseUrl}${path}`, init);
  return { status: response.status, contentType: response.headers.get('content-type'), json: await response.json() };
}

/** Every `$ref` anywhere in `value`. */
function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => (key === '$ref' && typeof inner === 'string' ? [inner] : refsIn(inner)));
}

interface Operation {
  operationId?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  responses: Record<string, { description?: string }>;
}

describe('the OpenAPI description served by the app', () => {
  it('is served at GET /api/openapi.json and is a structurally sound OpenAPI 3.1 document', async () => {
    const { status, contentType, json } = await getJson('/api/openapi.json');
    expect(status).toBe(200);
    expect(contentType).toMatch(/^application\/json/);
    const document = json as { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> } };
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.info).toMatchObject({ title: 'raster-ingest', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(['JobView', 'TileEntry', 'TilePage', 'BatchView', 'DurableStatus', 'Problem']));
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/jobs', '/api/jobs/{id}', '/api/jobs/{id}/tiles', '/api/batches/{id}', '/api/openapi.json']));

    const operationIds: string[] = [];
    for (const [path, item] of Object.entries(document.paths)) {
      expect(path).toMatch(/^\/api\//);
      for (const [method, operation] of Object.entries(item)) {
        expect(['get', 'post', 'put', 'patch', 'delete']).toContain(method);
        operationIds.push(operation.operationId ?? '');
        // Each path template parameter is declared, in the path, required.
        for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) expect(operation.parameters, `${method} ${path}`).toContainEqual(expect.objectContaining({ name, in: 'path', required: true }));
        expect(Object.keys(operation.responses).length, `${method} ${path}`).toBeGreaterThan(0);
        for (const [code, response] of Object.entries(operation.responses)) {
          expect(code).toMatch(/^[1-5]\d\d$/);
          expect(response.description, `${method} ${path} ${code}`).toBeTruthy();
        }
      }
    }
    expect(new Set(operationIds).size).toBe(operationIds.length);
    // Every reference resolves to a component.
    const unresolved = refsIn(document).filter((ref) => {
      const [, kind, name] = /^#\/components\/(\w+)\/(.+)$/.exec(ref) ?? [];
      return !kind || !name || !(name in ((document.components as Record<string, Record<string, unknown>>)[kind] ?? {}));
    });
    expect(unresolved).toEqual([]);
  });

  it("a real job's answers parse with the contract the description is made from", async () => {
    const name = 'openapi/small.tif';
    await env.store.uploadFile({ container: 'uploads', name }, writeRgbUint8(env.fixtures.path, 300, 200, 'small.tif'), 'image/tiff');
    const submitted = await getJson('/api/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ source: `uploads/${name}` }) });
    expect([200, 202]).toContain(submitted.status);
    const answer = submitAnswerSchema.parse(submitted.json);
    const finished = await waitForJob(env.host.baseUrl, answer.id);
    expect(finished.status).toBe('Completed');

    // Raw answers, parsed here (the client above parses too): no field of the contract is missing or of another type.
    const view = jobViewSchema.parse((await getJson(`/api/jobs/${answer.id}`)).json);
    expect(view).toMatchObject({ id: answer.id, status: 'Completed', stage: 'completed', tiles: { done: 1, failed: 0, total: 1 } });
    const tiles = tilePageSchema.parse((await getJson(`/api/jobs/${answer.id}/tiles`)).json);
    expect(tiles.tiles.map((tile) => tile.state)).toEqual(['done']);
    const status = await getJson(`/api/jobs/${answer.id}/status`);
    expect(status.status).toBe(200);
    expect(durableStatusSchema.parse(status.json)).toMatchObject({ instanceId: answer.id, runtimeStatus: 'Completed' });
    expect(jobPageSchema.parse((await getJson('/api/jobs')).json).jobs.map((job) => job.id)).toContain(answer.id);

    const missing = await getJson('/api/jobs/ingest-nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.contentType).toMatch(/^application\/problem\+json/);
    expect(problemSchema.parse(missing.json)).toMatchObject({ status: 404, title: 'Job not found' });
  });
});
