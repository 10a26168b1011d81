/** The batches table: paged by the server (in id order), each page shown newest first, refreshed every two seconds while any batch runs. */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { listBatches } from './api.client.js';
import type { BatchView } from '../src/api/contract.js';
import { formatThroughput, formatTimeLeft } from './batch.format.js';
import { batchHash } from './hash.route.js';
import { StatusBadge } from './jobs.page.js';
import { formatAge, formatTime, isFinished } from './tile.format.js';
import { usePolling } from './use.polling.js';

const pageSize = 25;
const livePollMs = 2000;
/** With nothing running, a slow refresh still shows batches started elsewhere. */
const idlePollMs = 30_000;

function BatchRow({ batch, nowMs }: { batch: BatchView; nowMs: number }) {
  const { counts } = batch;
  return html`
    <tr>
      <td data-label="Batch"><a href=${batchHash(batch.id)}><code>${batch.id}</code></a></td>
      <td data-label="Status"><${StatusBadge} status=${batch.status} /></td>
      <td data-label="Stage">${batch.stage}</td>
      <td data-label="Selection" class="source">${batch.selection ?? '–'}</td>
      <td data-label="Collection">${batch.collection ?? '–'}</td>
      <td data-label="Total" class="num">${counts.total}</td>
      <td data-label="Done" class="num">${counts.done}</td>
      <td data-label="Failed" class="num">${counts.failed ? html`<span class="failed-count">${counts.failed}</span>` : '0'}</td>
      <td data-label="Skipped" class="num">${counts.skipped}</td>
      <td data-label="Running" class="num">${counts.running}</td>
      <td data-label="Throughput" class="num">${formatThroughput(batch.throughputPerMinute)}</td>
      <td data-label="Time left">${formatTimeLeft(batch.estimatedSecondsLeft)}</td>
      <td data-label="Created"><time datetime=${batch.createdTime} title=${formatTime(batch.createdTime)}>${formatAge(batch.createdTime, nowMs)}</time></td>
    </tr>
  `;
}

export function BatchesPage() {
  // Tokens of the pages before the current one, and the current one's (null = first page).
  const [tokens, setTokens] = useState<Array<string | null>>([null]);
  const [anyRunning, setAnyRunning] = useState(true);
  const token = tokens.at(-1) ?? null;
  const polled = usePolling(
    async (signal) => {
      const query = new URLSearchParams({ top: String(pageSize) });
      if (token) query.set('continuationToken', token);
      const page = await listBatches(query.toString(), signal);
      setAnyRunning(page.batches.some((batch) => !isFinished(batch.status)));
      // The task hub pages batches in id order; within a page, the newest come first.
      return { ...page, batches: [...page.batches].sort((a, b) => b.createdTime.localeCompare(a.createdTime)) };
    },
    anyRunning ? livePollMs : idlePollMs,
    token ?? '',
  );
  const page = polled.data;
  const nowMs = Date.now();

  return html`
    <main id="main" tabindex="-1">
      <h1>Batches</h1>
      <p class="hint">A batch ingests every raster under a prefix, or those a manifest lists. Submit one with <code>raster-ingest batch submit</code> or <code>POST /api/batches</code>.</p>
      ${polled.error ? html`<p class="error" role="alert">Could not load batches: ${polled.error.message}</p>` : null}
      ${!page && !polled.error ? html`<p aria-live="polite">Loading batches…</p>` : null}
      ${page
        ? html`
            <table class="jobs batches cards">
              <caption>Batches, each page newest first${tokens.length > 1 ? `, page ${tokens.length}` : ''}. ${anyRunning ? `Updated every ${livePollMs / 1000} s while a batch runs.` : `Updated every ${idlePollMs / 1000} s.`}</caption>
              <thead><tr><th scope="col">Batch</th><th scope="col">Status</th><th scope="col">Stage</th><th scope="col">Selection</th><th scope="col">Collection</th>
                <th scope="col">Total</th><th scope="col">Done</th><th scope="col">Failed</th><th scope="col">Skipped</th><th scope="col">Running</th>
                <th scope="col">Throughput</th><th scope="col">Time left</th><th scope="col">Created</th></tr></thead>
              <tbody>
                ${page.batches.length ? page.batches.map((batch) => html`<${BatchRow} key=${batch.id} batch=${batch} nowMs=${nowMs} />`) : html`<tr><td colspan="13">No batches yet.</td></tr>`}
              </tbody>
            </table>
            <nav class="pager" aria-label="Pages of batches">
              <button type="button" disabled=${tokens.length <= 1} onClick=${() => setTokens(tokens.slice(0, -1))}>Newer batches</button>
              <button type="button" disabled=${!page.continuationToken} onClick=${() => setTokens([...tokens, page.continuationToken])}>Older batches</button>
            </nav>
          `
        : null}
    </main>
  `;
}
