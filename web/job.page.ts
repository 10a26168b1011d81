/** One job: its header, the tile grid and failed tiles with Retry, the timeline and the map; live while it runs. */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getAllTiles, getJob, retryJob } from './api.client.js';
import type { JobView, TileEntry } from '../src/api/contract.js';
import { collectionHash, jobHash, jobsHash } from './hash.route.js';
import { isSettled, QuarantinePanel } from './quarantine.panel.js';
import type { JobMap as JobMapComponent } from './job.map.js';
import { StatusBadge } from './jobs.page.js';
import { TileDetails, TileGrid, TileLegend } from './tile.grid.js';
import { TileTimeline } from './tile.timeline.js';
import { formatTileSummary, formatTime, isFinished, summarizeTiles } from './tile.format.js';
import { usePolling } from './use.polling.js';

const pollMs = 2000;

/** The map's code (OpenLayers, geotiff.js: most of the bundle) loads with the first job page, not with the jobs table. */
function LazyJobMap(props: { tiles: TileEntry[]; selected: TileEntry | null; onSelect: (tile: TileEntry) => void }) {
  const [loaded, setLoaded] = useState<{ JobMap: typeof JobMapComponent } | { failed: true } | null>(null);
  useEffect(() => {
    import('./job.map.js').then(({ JobMap }) => setLoaded({ JobMap }), () => setLoaded({ failed: true }));
  }, []);
  if (!loaded) return html`<p>Loading the map…</p>`;
  if ('failed' in loaded) return html`<p class="error">The map could not be loaded.</p>`;
  return html`<${loaded.JobMap} ...${props} />`;
}

interface JobData {
  job: JobView;
  tiles: TileEntry[];
}

function JobHeader({ job, tiles }: { job: JobView; tiles: TileEntry[] }) {
  return html`
    <dl class="job-facts">
      <div><dt>Status</dt><dd><${StatusBadge} status=${job.status} /></dd></div>
      <div><dt>Stage</dt><dd>${job.stage}</dd></div>
      <div><dt>Source</dt><dd class="source">${job.source ?? '–'}</dd></div>
      <div><dt>Collection</dt><dd>${job.collection ?? '–'}${job.definitionVersion !== null ? html` (<a class="definition-version" href=${collectionHash(job.collection ?? '')}>definition version ${job.definitionVersion}</a>)` : null}</dd></div>
      <div><dt>Tiles</dt><dd class="tile-counts">${formatTileSummary(summarizeTiles(job, tiles))}</dd></div>
      <div><dt>Route</dt><dd>${job.route ?? '–'}</dd></div>
      <div><dt>Attempt</dt><dd>${job.attempt}${job.previousAttempt ? html` (previous: <a href=${jobHash(job.previousAttempt)}><code>${job.previousAttempt}</code></a>)` : null}</dd></div>
      <div><dt>Created</dt><dd>${formatTime(job.createdTime)}</dd></div>
      <div><dt>Updated</dt><dd>${formatTime(job.lastUpdatedTime)}</dd></div>
    </dl>
  `;
}

/** What a retry of this job would run again, in the words of its button and its note. */
function retryWording(job: JobView, failedTiles: number): { label: string; note: string } {
  if (failedTiles > 0) {
    const what = failedTiles === 1 ? 'the failed tile' : `the ${failedTiles} failed tiles`;
    return { label: 'Retry failed tiles', note: `Re-runs only ${what} as a new attempt; tiles that are done stay as they are.` };
  }
  if (job.tiles.total > 0 && job.tiles.done === job.tiles.total) return { label: 'Retry the finalize step', note: 'No tile failed: re-runs only the step that publishes them, as a new attempt; every tile stays as it is.' };
  return { label: 'Retry the job', note: 'It failed before making any tile: re-runs the whole job as a new attempt.' };
}

/** Retry, offered only where it can help; otherwise why not and what to do instead. */
function RetryButton({ job, failedTiles }: { job: JobView; failedTiles: number }) {
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<{ message: string; latest: string | null } | null>(null);
  if (job.status !== 'Failed' && job.status !== 'Terminated') return null;
  if (!job.retry.offered) {
    return html`<div class="retry no-retry"><p role="note"><strong>No retry:</strong> ${job.retry.reason ?? 'a retry cannot help this job.'}</p></div>`;
  }
  const retry = async (): Promise<void> => {
    setBusy(true);
    setRefusal(null);
    try {
      const accepted = await retryJob(job.id);
      window.location.hash = jobHash(accepted.id);
    } catch (error) {
      setRefusal(error instanceof ApiError ? { message: error.message, latest: error.problem.latest ?? null } : { message: 'The retry could not be sent', latest: null });
      setBusy(false);
    }
  };
  const { label, note } = retryWording(job, failedTiles);
  return html`
    <div class="retry">
      <button type="button" class="primary" disabled=${busy} onClick=${retry}>${label}</button>
      <span>${note}</span>
      ${refusal
        ? html`<p class="error" role="alert">Retry refused: ${refusal.message}${refusal.latest ? html` <a href=${jobHash(refusal.latest)}>Go to the newest attempt</a>` : null}</p>`
        : null}
    </div>
  `;
}

/** A newer version of the source replaced this job's output (or upload): by which job, and until when its COGs stay. */
function SupersededNotice({ job }: { job: JobView }) {
  if (!job.superseded) return null;
  return html`<p class="superseded" role="note"><strong>Superseded${job.superseded.by ? html` by <a href=${jobHash(job.superseded.by)}><code>${job.superseded.by}</code></a>` : ''}:</strong> ${job.superseded.message}</p>`;
}

/** Each collection deriving from the job's and how its products ended; a failure is the derived product's, not the job's. */
function DerivedProducts({ job }: { job: JobView }) {
  if (job.derived.length === 0) return null;
  return html`<section class="derived" aria-label="Derived products">
    <h3>Derived products</h3>
    <ul class="derived-products">
      ${job.derived.map(
        (derived) => html`<li class=${`derived-${derived.status}`}>
          <a href=${collectionHash(derived.collection)}>${derived.collection}</a> (${derived.product}): ${derived.status === 'completed' ? `${derived.items} item${derived.items === 1 ? '' : 's'} published` : `failed (${derived.failureCount})`}
          ${derived.failures.length > 0
            ? html`<ul class="job-errors">${derived.failures.map((failure) => html`<li><code class="error-code">${failure.code}</code> ${failure.itemId ? html`<code>${failure.itemId}</code> ` : null}${failure.message}${failure.retryable ? ' (a retry may help)' : ''}</li>`)}</ul>`
            : null}
        </li>`,
      )}
    </ul>
  </section>`;
}

function FailedTiles({ tiles, job, onSelect }: { tiles: TileEntry[]; job: JobView; onSelect: (tile: TileEntry) => void }) {
  const failed = tiles.filter((tile) => tile.state === 'failed');
  const tileIds = new Set(failed.map((tile) => tile.itemId));
  // Job-level failures not tied to a listed tile (validation, finalizing).
  const other = job.errors.filter((error) => !error.itemId || !tileIds.has(error.itemId));
  if (!failed.length && !other.length) return null;
  return html`
    <section aria-labelledby="failures-heading">
      <h2 id="failures-heading">Failures</h2>
      ${failed.length
        ? html`<div class="failures-scroll"><table class="failures cards">
            <caption>${failed.length} failed ${failed.length === 1 ? 'tile' : 'tiles'}</caption>
            <thead><tr><th scope="col">Tile</th><th scope="col">Error code</th><th scope="col">Message</th><th scope="col">Attempts</th></tr></thead>
            <tbody>
              ${failed.map((tile) => html`<tr class="failed-tile">
                <td data-label="Tile"><button type="button" class="link-button" onClick=${() => onSelect(tile)}><code>${tile.itemId}</code></button></td>
                <td data-label="Error code"><code class="error-code">${tile.error?.code ?? 'INTERNAL'}</code></td>
                <td data-label="Message">${tile.error?.message ?? 'no message recorded'}</td>
                <td data-label="Attempts" class="num">${tile.attempts}</td>
              </tr>`)}
            </tbody>
          </table></div>`
        : null}
      ${other.length
        ? html`<ul class="job-errors">${other.map((error) => html`<li><code class="error-code">${error.code}</code> ${error.message}</li>`)}</ul>`
        : null}
      ${job.errorCount > job.errors.length ? html`<p>${job.errorCount - job.errors.length} more failures are not listed in the job view.</p>` : null}
    </section>
  `;
}

export function JobDetailPage({ id }: { id: string }) {
  const [finished, setFinished] = useState(false);
  const polled = usePolling<JobData>(
    async (signal) => {
      const job = await getJob(id, signal);
      const tiles = await getAllTiles(id, signal);
      setFinished(isSettled(job, isFinished));
      return { job, tiles };
    },
    pollMs,
    id,
    !finished,
  );
  const [selectedIndex, setSelectedIndex] = useState<number | null>(null);
  const data = polled.data;

  if (!data) {
    return html`<main id="main" tabindex="-1">
      <p><a href=${jobsHash()}>← All jobs</a></p>
      <h1>Job <code>${id}</code></h1>
      ${polled.error
        ? html`<p class="error" role="alert">${polled.error instanceof ApiError && polled.error.status === 404 ? 'No job has this id.' : `Could not load the job: ${polled.error.message}`}</p>`
        : html`<p aria-live="polite">Loading the job…</p>`}
    </main>`;
  }
  const { job, tiles } = data;
  const selected = tiles.find((tile) => tile.index === selectedIndex) ?? tiles.find((tile) => tile.state === 'failed') ?? tiles.find((tile) => tile.cogHref) ?? null;
  const select = (tile: TileEntry): void => setSelectedIndex(tile.index);
  const failedCount = tiles.filter((tile) => tile.state === 'failed').length;
  // The timeline and the failures are bounded boxes (app.css): a job of hundreds of tiles scrolls them, not the page.

  return html`
    <main id="main" tabindex="-1">
      <p><a href=${jobsHash()}>← All jobs</a></p>
      <h1>Job <code>${job.id}</code></h1>
      <p class="live" aria-live="polite">${isFinished(job.status) ? `This job has finished: ${job.status}.` : `Live: updated every ${pollMs / 1000} s while the job runs.`}
        ${polled.error ? html` <span class="error">Last update failed: ${polled.error.message}</span>` : null}</p>
      <${JobHeader} job=${job} tiles=${tiles} />
      <${SupersededNotice} job=${job} />
      <${QuarantinePanel} job=${job} onDecided=${() => {
        setFinished(false);
        polled.refresh();
      }} />
      <${RetryButton} job=${job} failedTiles=${failedCount} />
      <${DerivedProducts} job=${job} />
      <${FailedTiles} tiles=${tiles} job=${job} onSelect=${select} />
      <div class="tiles-and-map">
        <section aria-labelledby="grid-heading" class="grid-section">
          <h2 id="grid-heading">Tiles</h2>
          <${TileLegend} tiles=${tiles} />
          <${TileGrid} tiles=${tiles} selected=${selected} onSelect=${select} />
          ${selected ? html`<${TileDetails} tile=${selected} />` : null}
        </section>
        <section aria-labelledby="map-heading" class="map-section">
          <h2 id="map-heading">Map</h2>
          <${LazyJobMap} tiles=${tiles} selected=${selected} onSelect=${select} />
        </section>
      </div>
      <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">Timeline</h2>
        <div class="timeline-scroll" tabindex="0" aria-label="Timeline of the tiles (scrolls)">
          <${TileTimeline} tiles=${tiles} live=${!isFinished(job.status)} onSelect=${select} />
        </div>
      </section>
    </main>
  `;
}
