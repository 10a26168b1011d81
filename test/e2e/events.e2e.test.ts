/**
 * Events out (issue 24, step 5) through the local host: a collection's webhook (a local receiver
 * on loopback, allowed by INGEST_WEBHOOK_ALLOW_LOOPBACK and the allowlist) receives each job's
 * end as a CloudEvent 1.0 in structured JSON, at least once: a receiver that answers 503 first
 * gets the same event (the same id) again. A webhook that redirects to the metadata endpoint is
 * not followed: the receiver behind the redirect sees nothing.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JobsClient } from '../../cli/jobs.client.js';
import { freePort, useHostOnOwnAzurite, waitForJob } from '../support/local.host.js';
import { writeRgbUint8 } from '../support/fixtures.js';

interface Received {
  path: string;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

const received: Received[] = [];
let failFirst = true;
let port = 0;
let server: Server | undefined;

// The receiver's port is chosen before the host starts: its origin goes on the allowlist.
port = await freePort();
const origin = `http://127.0.0.1:${port}`;

const env = useHostOnOwnAzurite('events', {
  INGEST_SOURCE_CONTAINERS: 'uploads,incoming',
  INGEST_WEBHOOK_ALLOWLIST: origin,
  INGEST_WEBHOOK_ALLOW_LOOPBACK: 'true',
});

beforeAll(async () => {
  server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => {
      if (request.url === '/redirect') {
        received.push({ path: '/redirect', contentType: request.headers['content-type'], body: {} });
        response.writeHead(302, { Location: 'http://169.254.169.254/latest/meta-data/' }).end();
        return;
      }
      received.push({ path: request.url ?? '', contentType: request.headers['content-type'], body: JSON.parse(text) as Record<string, unknown> });
      if (request.url === '/flaky' && failFirst) {
        failFirst = false;
        response.writeHead(503).end();
        return;
      }
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function put(id: string, definition: unknown): Promise<void> {
  const response = await fetch(`${env.host.baseUrl}/api/collections/${id}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(definition) });
  expect(response.status, await response.text()).toBe(201);
}

describe('job events to webhooks', () => {
  it('delivers a job\'s end as a CloudEvent, again after a 503 with the same id, and never follows a redirect', async () => {
    await put('evented', {
      sources: [{ container: 'incoming', prefix: 'evented/' }],
      notifications: { webhooks: [{ url: `${origin}/flaky`, events: ['job.completed'] }, { url: `${origin}/redirect` }, { url: `${origin}/failed-only`, events: ['job.failed'] }] },
    });
    await env.store.uploadFile({ container: 'incoming', name: 'evented/scene.tif' }, writeRgbUint8(env.fixtures.path, 120, 80, 'evented.tif'), 'image/tiff');
    const { id } = await new JobsClient({ baseUrl: env.host.baseUrl }).submit({ source: 'incoming/evented/scene.tif', collection: 'evented' });
    const job = await waitForJob(env.host.baseUrl, id);
    expect(job.status).toBe('Completed');

    const flaky = await vi.waitFor(
      () => {
        const deliveries = received.filter((entry) => entry.path === '/flaky');
        if (deliveries.length < 2) throw new Error(`${deliveries.length} deliveries so far`);
        return deliveries;
      },
      { timeout: 60_000, interval: 250 },
    );
    expect(flaky[0]!.body).toEqual(flaky[1]!.body);
    expect(flaky[0]!.contentType).toContain('application/cloudevents+json');
    expect(flaky[0]!.body).toMatchObject({
      specversion: '1.0',
      id: `${id}:completed`,
      type: 'org.raster-ingest.job.completed',
      source: '/raster-ingest/collections/evented',
      subject: `jobs/${id}`,
      datacontenttype: 'application/json',
      data: { jobId: id, collection: 'evented', source: 'incoming/evented/scene.tif', definitionVersion: 1, status: 'Completed' },
    });
    expect(typeof flaky[0]!.body['time']).toBe('string');
    // The redirect was answered, not followed; the job.failed-only hook heard nothing.
    expect(received.filter((entry) => entry.path === '/redirect').length).toBeGreaterThanOrEqual(1);
    expect(received.filter((entry) => entry.path === '/failed-only')).toEqual([]);
    expect(received.every((entry) => ['/flaky', '/redirect'].includes(entry.path))).toBe(true);
  }, 240_000);
});
