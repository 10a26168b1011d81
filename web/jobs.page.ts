/** The jobs table: newest first, filtered and paged by the server, refreshed every two seconds. */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { listJobs } from './api.client.js';
import type { JobView } from '../src/api/contract.js';
import { jobHash, jobsHash, jobsQuery, type JobFilters } from './hash.route.js';
import { formatAge, formatTime } from './tile.format.js';
import { usePolling } from './use.polling.js';

const pageSize = 25;
const pollMs = 2000;
/** The statuses the API filters on. */
const statusChoices = ['Running', 'Pending', 'Completed', 'Failed', 'Terminated'];
const sinceChoices: Array<{ value: string; label: string }> = [
  { value: '', label: 'any time' },
  { value: '30m', label: 'last 30 minutes' },
  { value: '12h', label: 'last 12 hours' },
  { value: '1d', label: 'last day' },
  { value: '7d', label: 'last 7 days' },
];

export function StatusBadge({ status }: { status: string }) {
  return html`<span class=${`status status-${status.toLowerCase().replace(/[^a-z]/g, '')}`}>${status}</span>`;
}

function FilterForm({ filters }: { filters: JobFilters }) {
  const [collection, setCollection] = useState(filters.collection);
  useEffect(() => setCollection(filters.collection), [filters.collection]);
  const go = (next: Partial<JobFilters>): void => {
    window.location.hash = jobsHash({ ...filters, ...next });
  };
  const toggleStatus = (status: string, on: boolean): void =>
    go({ status: on ? [...filters.status, status] : filters.status.filter((s) => s !== status) });
  return html`
    <form class="filters" aria-label="Filter jobs" onSubmit=${(event: Event) => { event.preventDefault(); go({ collection }); }}>
      <fieldset>
        <legend>Status</legend>
        ${statusChoices.map(
          (status) => html`<label class="check"><input type="checkbox" name="status" value=${status} checked=${filters.status.includes(status)}
            onChange=${(event: Event) => toggleStatus(status, (event.target as HTMLInputElement).checked)} /> ${status}</label>`,
        )}
      </fieldset>
      <label>Collection <input type="text" name="collection" value=${collection} placeholder="any"
        onInput=${(event: Event) => setCollection((event.target as HTMLInputElement).value)}
        onChange=${(event: Event) => go({ collection: (event.target as HTMLInputElement).value })} /></label>
      <label>Created <select name="since" value=${filters.since} onChange=${(event: Event) => go({ since: (event.target as HTMLSelectElement).value })}>
        ${sinceChoices.map((choice) => html`<option value=${choice.value}>${choice.label}</option>`)}
        ${filters.since && !sinceChoices.some((choice) => choice.value === filters.since) ? html`<option value=${filters.since}>since ${filters.since}</option>` : null}
      </select></label>
      <button type="submit">Apply</button>
      ${filters.status.length || filters.collection || filters.since ? html`<a href=${jobsHash()}>Clear filters</a>` : null}
    </form>
  `;
}

function JobRow({ job, nowMs }: { job: JobView; nowMs: number }) {
  return html`
    <tr>
      <td><a href=${jobHash(job.id)}><code>${job.id}</code></a></td>
      <td><${StatusBadge} status=${job.status} /></td>
      <td>${job.stage}</td>
      <td class="source">${job.source ?? '–'}</td>
      <td>${job.collection ?? '–'}</td>
      <td class="num">${job.tiles.done} / ${job.tiles.total}${job.tiles.failed ? html`, <span class="failed-count">${job.tiles.failed} failed</span>` : null}</td>
      <td class="num">${job.attempt}</td>
      <td><time datetime=${job.createdTime} title=${formatTime(job.createdTime)}>${formatAge(job.createdTime, nowMs)}</time></td>
      <td><time datetime=${job.lastUpdatedTime} title=${formatTime(job.lastUpdatedTime)}>${formatAge(job.lastUpdatedTime, nowMs)}</time></td>
    </tr>
  `;
}

export function JobsPage({ filters }: { filters: JobFilters }) {
  // Tokens of the pages before the current one, and the current one's (null = first page).
  const [tokens, setTokens] = useState<Array<string | null>>([null]);
  const filterKey = jobsQuery(filters, null, pageSize);
  useEffect(() => setTokens([null]), [filterKey]);
  const token = tokens.at(-1) ?? null;
  const polled = usePolling((signal) => listJobs(jobsQuery(filters, token, pageSize), signal), pollMs, `${filterKey}|${token ?? ''}`);
  const page = polled.data;
  const nowMs = Date.now();

  return html`
    <main id="main" tabindex="-1">
      <h1>Jobs</h1>
      <${FilterForm} filters=${filters} />
      ${polled.error ? html`<p class="error" role="alert">Could not load jobs: ${polled.error.message}</p>` : null}
      ${!page && !polled.error ? html`<p aria-live="polite">Loading jobs…</p>` : null}
      ${page
        ? html`
            <table class="jobs">
              <caption>Jobs, newest first${tokens.length > 1 ? `, page ${tokens.length}` : ''}. Updated every ${pollMs / 1000} s.</caption>
              <thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Stage</th><th scope="col">Source</th><th scope="col">Collection</th><th scope="col">Tiles done / total</th><th scope="col">Attempt</th><th scope="col">Created</th><th scope="col">Updated</th></tr></thead>
              <tbody>
                ${page.jobs.length ? page.jobs.map((job) => html`<${JobRow} key=${job.id} job=${job} nowMs=${nowMs} />`) : html`<tr><td colspan="9">No jobs match these filters.</td></tr>`}
              </tbody>
            </table>
            <nav class="pager" aria-label="Pages of jobs">
              <button type="button" disabled=${tokens.length <= 1} onClick=${() => setTokens(tokens.slice(0, -1))}>Newer jobs</button>
              <button type="button" disabled=${!page.continuationToken} onClick=${() => setTokens([...tokens, page.continuationToken])}>Older jobs</button>
            </nav>
          `
        : null}
    </main>
  `;
}
