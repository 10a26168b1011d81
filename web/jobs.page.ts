/**
 * The jobs table: newest first, filtered (status, collection, age, source, batch) and paged by the
 * server, refreshed every two seconds; each job's attempts folded into one row, with its first
 * error's code and message.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { listJobs } from './api.client.js';
import type { JobView } from '../src/api/contract.js';
import { batchHash, hasFilters, jobHash, jobsHash, jobsQuery, type JobFilters } from './hash.route.js';
import { groupAttempts, type JobGroup } from './jobs.group.js';
import { formatAge, formatTime } from './tile.format.js';
import { usePolling } from './use.polling.js';

const pageSize = 25;
const pollMs = 2000;
/** The statuses the API filters on. */
const statusChoices = ['Running', 'Pending', 'Completed', 'Failed', 'Terminated', 'Quarantined', 'Rejected'];
const sinceChoices: Array<{ value: string; label: string }> = [
  { value: '', label: 'any time' },
  { value: '30m', label: 'last 30 minutes' },
  { value: '12h', label: 'last 12 hours' },
  { value: '1d', label: 'last day' },
  { value: '7d', label: 'last 7 days' },
];
/** Longer messages are cut in the table; the whole message is its title and on the job's page. */
const maxMessageLength = 160;

export function StatusBadge({ status }: { status: string }) {
  return html`<span class=${`status status-${status.toLowerCase().replace(/[^a-z]/g, '')}`}>${status}</span>`;
}

function TextFilter({ name, label, value, placeholder, onApply }: { name: 'collection' | 'source' | 'batch'; label: string; value: string; placeholder: string; onApply: (value: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return html`<label>${label} <input type="text" name=${name} value=${text} placeholder=${placeholder}
    onInput=${(event: Event) => setText((event.target as HTMLInputElement).value)}
    onChange=${(event: Event) => onApply((event.target as HTMLInputElement).value)} /></label>`;
}

function FilterForm({ filters }: { filters: JobFilters }) {
  const go = (next: Partial<JobFilters>): void => {
    window.location.hash = jobsHash({ ...filters, ...next });
  };
  const toggleStatus = (status: string, on: boolean): void =>
    go({ status: on ? [...filters.status, status] : filters.status.filter((s) => s !== status) });
  const apply = (event: Event): void => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string): string => String(form.get(name) ?? '');
    go({ collection: text('collection'), source: text('source'), batch: text('batch') });
  };
  return html`
    <form class="filters" aria-label="Filter jobs" onSubmit=${apply}>
      <fieldset>
        <legend>Status</legend>
        ${statusChoices.map(
          (status) => html`<label class="check"><input type="checkbox" name="status" value=${status} checked=${filters.status.includes(status)}
            onChange=${(event: Event) => toggleStatus(status, (event.target as HTMLInputElement).checked)} /> ${status}</label>`,
        )}
      </fieldset>
      <${TextFilter} name="source" label="Source" value=${filters.source} placeholder="uploads/2026/ or scene.tif" onApply=${(source: string) => go({ source })} />
      <${TextFilter} name="collection" label="Collection" value=${filters.collection} placeholder="any" onApply=${(collection: string) => go({ collection })} />
      <${TextFilter} name="batch" label="Batch" value=${filters.batch} placeholder="batch-…" onApply=${(batch: string) => go({ batch })} />
      <label>Created <select name="since" value=${filters.since} onChange=${(event: Event) => go({ since: (event.target as HTMLSelectElement).value })}>
        ${sinceChoices.map((choice) => html`<option value=${choice.value}>${choice.label}</option>`)}
        ${filters.since && !sinceChoices.some((choice) => choice.value === filters.since) ? html`<option value=${filters.since}>since ${filters.since}</option>` : null}
      </select></label>
      <button type="submit">Apply</button>
      ${hasFilters(filters) ? html`<a href=${jobsHash()}>Clear filters</a>` : null}
    </form>
    <p class="hint">Source: the start of <code>container/path</code>, or of the blob path in any container (<code>scene</code> finds <code>uploads/scene.tif</code>).</p>
  `;
}

/** The first failure's code and message; how many more there are. */
export function JobError({ job }: { job: JobView }) {
  const first = job.errors[0];
  if (!first) return html`<span class="muted">–</span>`;
  const message = first.message.length > maxMessageLength ? `${first.message.slice(0, maxMessageLength - 1)}…` : first.message;
  const more = Math.max(job.errorCount, job.errors.length) - 1;
  return html`<span class="job-error"><code class="error-code">${first.code}</code> <span class="error-message" title=${first.message}>${message}</span>${more > 0 ? html` <span class="muted">(+${more} more)</span>` : null}</span>`;
}

/** `7 / 9`, `7 / 9, 2 failed`; `–` before the tiles are planned (a job that failed validation has none). */
export function TileCounts({ job }: { job: JobView }) {
  if (job.tiles.total === 0 && job.tiles.done === 0 && job.tiles.failed === 0) return html`<span class="muted">–</span>`;
  return html`${job.tiles.done} / ${job.tiles.total}${job.tiles.failed ? html`, <span class="failed-count">${job.tiles.failed} failed</span>` : null}`;
}

/** The newest attempt's number, and the earlier ones folded under it. */
function Attempts({ group }: { group: JobGroup }) {
  const { latest, earlier } = group;
  if (earlier.length === 0) return html`${latest.attempt}`;
  return html`<details class="attempts">
    <summary>${latest.attempt} <span class="muted">(${earlier.length} earlier)</span></summary>
    <ul>
      ${earlier.map((entry) => html`<li><a href=${jobHash(entry.id)}><code>${entry.id}</code></a>${entry.job ? html` <${StatusBadge} status=${entry.job.status} />` : null}</li>`)}
    </ul>
  </details>`;
}

type Column = 'stage' | 'error' | 'source' | 'collection' | 'batch' | 'tiles' | 'attempts' | 'created' | 'updated';

const columnTitles: Record<Column, string> = {
  stage: 'Stage',
  error: 'Error',
  source: 'Source',
  collection: 'Collection',
  batch: 'Batch',
  tiles: 'Tiles done / total',
  attempts: 'Attempt',
  created: 'Created',
  updated: 'Updated',
};

function Cell({ column, group, nowMs }: { column: Column; group: JobGroup; nowMs: number }) {
  const job = group.latest;
  const label = columnTitles[column];
  switch (column) {
    case 'stage':
      return html`<td data-label=${label}>${job.stage}</td>`;
    case 'error':
      return html`<td data-label=${label} class="error-cell"><${JobError} job=${job} /></td>`;
    case 'source':
      return html`<td data-label=${label} class="source">${job.source ?? '–'}</td>`;
    case 'collection':
      return html`<td data-label=${label}>${job.collection ?? '–'}</td>`;
    case 'batch':
      return html`<td data-label=${label} class="source">${job.batch ? html`<a href=${batchHash(job.batch)}><code>${job.batch}</code></a>` : '–'}</td>`;
    case 'tiles':
      return html`<td data-label=${label} class="num"><${TileCounts} job=${job} /></td>`;
    case 'attempts':
      return html`<td data-label=${label} class="num"><${Attempts} group=${group} /></td>`;
    case 'created':
      return html`<td data-label=${label}><time datetime=${job.createdTime} title=${formatTime(job.createdTime)}>${formatAge(job.createdTime, nowMs)}</time></td>`;
    case 'updated':
      return html`<td data-label=${label}><time datetime=${job.lastUpdatedTime} title=${formatTime(job.lastUpdatedTime)}>${formatAge(job.lastUpdatedTime, nowMs)}</time></td>`;
  }
}

/** A table of jobs, one row per job with its attempts folded; on a phone each row is a card. */
export function JobsTable({ jobs, caption, columns, empty }: { jobs: readonly JobView[]; caption: string; columns: readonly Column[]; empty: string }) {
  const groups = groupAttempts(jobs);
  const nowMs = Date.now();
  return html`
    <table class="jobs cards">
      <caption>${caption}</caption>
      <thead><tr><th scope="col">Job</th><th scope="col">Status</th>${columns.map((column) => html`<th scope="col">${columnTitles[column]}</th>`)}</tr></thead>
      <tbody>
        ${groups.length
          ? groups.map(
              (group) => html`<tr key=${group.latest.id} data-job-id=${group.latest.id}>
                <td data-label="Job" class="job-id"><a href=${jobHash(group.latest.id)}><code>${group.latest.id}</code></a></td>
                <td data-label="Status"><${StatusBadge} status=${group.latest.status} /></td>
                ${columns.map((column) => html`<${Cell} column=${column} group=${group} nowMs=${nowMs} />`)}
              </tr>`,
            )
          : html`<tr><td colspan=${columns.length + 2}>${empty}</td></tr>`}
      </tbody>
    </table>
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

  return html`
    <main id="main" tabindex="-1">
      <h1>Jobs</h1>
      <${FilterForm} filters=${filters} />
      ${polled.error ? html`<p class="error" role="alert">Could not load jobs: ${polled.error.message}</p>` : null}
      ${!page && !polled.error ? html`<p aria-live="polite">Loading jobs…</p>` : null}
      ${page
        ? html`
            <${JobsTable}
              jobs=${page.jobs}
              caption=${`Jobs, newest first${tokens.length > 1 ? `, page ${tokens.length}` : ''}; a job's attempts are folded into one row. Updated every ${pollMs / 1000} s.`}
              columns=${['stage', 'error', 'source', 'collection', 'batch', 'tiles', 'attempts', 'created', 'updated']}
              empty="No jobs match these filters."
            />
            <nav class="pager" aria-label="Pages of jobs">
              <button type="button" disabled=${tokens.length <= 1} onClick=${() => setTokens(tokens.slice(0, -1))}>Newer jobs</button>
              <button type="button" disabled=${!page.continuationToken} onClick=${() => setTokens([...tokens, page.continuationToken])}>Older jobs</button>
            </nav>
          `
        : null}
    </main>
  `;
}
