/**
 * One batch: its counts and progress, throughput and time left, why it failed, the sources that
 * failed (code and message) and the manifest entries that name no blob, its jobs (each linking to
 * its job page), and "Re-run failed sources" through the bulk retry API; live while it runs.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getBatch, listJobs, retryBatchFailures } from './api.client.js';
import type { BatchView, BulkRetryPage, JobPage } from '../src/api/contract.js';
import { finishedSources, formatProgress, formatThroughput, formatTimeLeft } from './batch.format.js';
import { batchHash, batchesHash, jobHash, jobsHash, noFilters } from './hash.route.js';
import { JobsTable, StatusBadge } from './jobs.page.js';
import { formatTime, isFinished } from './tile.format.js';
import { usePolling } from './use.polling.js';

const pollMs = 2000;
const jobsPageSize = 25;

function BatchFacts({ batch }: { batch: BatchView }) {
  const { counts } = batch;
  return html`
    <dl class="job-facts">
      <div><dt>Status</dt><dd><${StatusBadge} status=${batch.status} /></dd></div>
      <div><dt>Stage</dt><dd>${batch.stage}${batch.chunk ? ` (chunk ${batch.chunk + 1})` : ''}</dd></div>
      <div><dt>Selection</dt><dd class="source">${batch.selection ?? '–'}</dd></div>
      <div><dt>Collection</dt><dd>${batch.collection ?? '–'}</dd></div>
      <div><dt>Sources</dt><dd class="batch-counts">${counts.total} in all: ${counts.done} done, ${counts.failed} failed, ${counts.skipped} skipped, ${counts.running} running${counts.missing ? `, ${counts.missing} missing` : ''}</dd></div>
      <div><dt>Throughput</dt><dd>${formatThroughput(batch.throughputPerMinute)}</dd></div>
      <div><dt>Time left</dt><dd>${formatTimeLeft(batch.estimatedSecondsLeft)}</dd></div>
      <div><dt>Attempt</dt><dd>${batch.attempt}${batch.previousAttempt ? html` (previous: <a href=${batchHash(batch.previousAttempt)}><code>${batch.previousAttempt}</code></a>)` : null}</dd></div>
      <div><dt>Created</dt><dd>${formatTime(batch.createdTime)}</dd></div>
      <div><dt>Updated</dt><dd>${formatTime(batch.lastUpdatedTime)}</dd></div>
    </dl>
  `;
}

function BatchProgressBar({ batch }: { batch: BatchView }) {
  const label = formatProgress(batch.counts);
  return html`
    <div class="batch-progress">
      <label for="batch-progress">Sources ended</label>
      <progress id="batch-progress" max=${Math.max(batch.counts.total, 1)} value=${finishedSources(batch.counts)} aria-valuetext=${label}></progress>
      <span>${label}</span>
    </div>
  `;
}

/** `permanent: 2, superseded: 1`: why sources were not (or would not be) re-run. */
function summarizeSkipped(jobs: BulkRetryPage['jobs']): string {
  const counts = new Map<string, number>();
  for (const job of jobs) {
    // A service from before per-job outcomes sends none.
    const outcome = job.outcome ?? 'skipped';
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }
  return [...counts].map(([outcome, count]) => `${count} ${outcome}`).join(', ');
}

function SkippedSources({ jobs }: { jobs: BulkRetryPage['jobs'] }) {
  if (!jobs.length) return null;
  return html`<ul class="job-errors rerun-skipped">${jobs.map((job) => html`<li><a href=${jobHash(job.id)}><code>${job.id}</code></a> <code class="error-code">${job.outcome}</code> ${job.reason ?? ''}</li>`)}</ul>`;
}

/**
 * "Re-run failed sources", offered only for the failed sources a retry can help: a dry run of the
 * bulk retry (once the batch has ended) says which would run again and why the others would not.
 */
function RerunFailedSources({ batch, onRetried }: { batch: BatchView; onRetried: () => void }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<BulkRetryPage['jobs'] | null>(null);
  const [preview, setPreview] = useState<BulkRetryPage['jobs'] | null>(null);
  const [refusal, setRefusal] = useState<{ message: string; conflict: boolean } | null>(null);
  const running = !isFinished(batch.status);
  const hasFailures = batch.counts.failed > 0 || batch.failures.length > 0;
  useEffect(() => {
    if (running || !hasFailures) return;
    let live = true;
    retryBatchFailures(batch.id, { dryRun: true }).then(
      (jobs) => live && setPreview(jobs),
      () => live && setPreview(null),
    );
    return () => {
      live = false;
    };
  }, [batch.id, running, hasFailures, result]);
  if (!hasFailures) return null;
  const rerun = async (): Promise<void> => {
    setBusy(true);
    setRefusal(null);
    try {
      setResult(await retryBatchFailures(batch.id));
      onRetried();
    } catch (error) {
      setRefusal(error instanceof ApiError ? { message: error.message, conflict: error.status === 409 } : { message: 'The retry could not be sent', conflict: false });
    } finally {
      setBusy(false);
    }
  };
  const started = result?.filter((job) => job.outcome === 'started').length ?? 0;
  const wouldRetry = preview?.filter((job) => job.outcome === 'dry-run') ?? [];
  const wouldSkip = preview?.filter((job) => job.outcome !== 'dry-run') ?? [];
  const offered = !running && preview !== null && wouldRetry.length > 0;
  const note = running
    ? 'Available once the batch has ended.'
    : preview === null
      ? 'Checking which failed sources a retry can help…'
      : wouldRetry.length > 0
        ? `Retries ${wouldRetry.length} failed ${wouldRetry.length === 1 ? 'job' : 'jobs'} of this batch as new attempts; only what failed runs again.${wouldSkip.length ? ` ${wouldSkip.length} not (${summarizeSkipped(wouldSkip)}): a retry cannot help them.` : ''}`
        : `No failed source of this batch can be helped by a retry (${summarizeSkipped(wouldSkip)}).`;
  return html`
    <div class="retry">
      ${offered || result ? html`<button type="button" class="primary" disabled=${busy || !offered || refusal?.conflict === true} onClick=${rerun}>Re-run failed sources</button>` : null}
      <span>${note}</span>
      ${result
        ? html`<p class="retry-result" role="status">Re-ran ${started} failed ${started === 1 ? 'source' : 'sources'}${result.length > started ? `; ${result.length - started} not (${summarizeSkipped(result.filter((job) => job.outcome !== 'started'))})` : ''}.</p>`
        : null}
      ${!result && !running ? html`<${SkippedSources} jobs=${wouldSkip} />` : null}
      ${refusal ? html`<p class="error" role="alert">Re-run refused: ${refusal.message}</p>` : null}
    </div>
  `;
}

function BatchFailures({ batch }: { batch: BatchView }) {
  if (!batch.reason && !batch.failures.length && !batch.missing.length) return null;
  return html`
    <section aria-labelledby="failures-heading">
      <h2 id="failures-heading">Failures</h2>
      ${batch.reason ? html`<p class="error">The batch failed: ${batch.reason}</p>` : null}
      ${batch.failures.length
        ? html`<div class="failures-scroll"><table class="failures batch-failures cards">
            <caption>${batch.failures.length} failed ${batch.failures.length === 1 ? 'source' : 'sources'}${batch.counts.failed > batch.failures.length ? ` listed of ${batch.counts.failed}` : ''}</caption>
            <thead><tr><th scope="col">Source</th><th scope="col">Error code</th><th scope="col">Message</th><th scope="col">Job</th></tr></thead>
            <tbody>
              ${batch.failures.map((failure) => html`<tr>
                <td data-label="Source" class="source">${failure.source}</td>
                <td data-label="Error code"><code class="error-code">${failure.code}</code></td>
                <td data-label="Message">${failure.message}</td>
                <td data-label="Job">${failure.jobId ? html`<a href=${jobHash(failure.jobId)}><code>${failure.jobId}</code></a>` : '–'}</td>
              </tr>`)}
            </tbody>
          </table></div>`
        : null}
      ${batch.missing.length
        ? html`<h3>Manifest entries that name no blob</h3><ul class="job-errors batch-missing">${batch.missing.map((entry) => html`<li><code>${entry}</code></li>`)}</ul>`
        : null}
    </section>
  `;
}

function BatchJobs({ batchId, live, refreshKey }: { batchId: string; live: boolean; refreshKey: number }) {
  const [tokens, setTokens] = useState<Array<string | null>>([null]);
  // Jobs go on after their batch when re-run: polled while the batch or any listed job runs.
  const [jobsRunning, setJobsRunning] = useState(true);
  const token = tokens.at(-1) ?? null;
  const polled = usePolling<JobPage>(
    async (signal) => {
      const query = new URLSearchParams({ batch: batchId, top: String(jobsPageSize) });
      if (token) query.set('continuationToken', token);
      const page = await listJobs(query.toString(), signal);
      setJobsRunning(page.jobs.some((job) => !isFinished(job.status)));
      return page;
    },
    pollMs,
    `${batchId}|${token ?? ''}|${refreshKey}`,
    live || jobsRunning,
  );
  const page = polled.data;
  return html`
    <section aria-labelledby="jobs-heading">
      <h2 id="jobs-heading">Jobs</h2>
      ${polled.error ? html`<p class="error" role="alert">Could not load the batch's jobs: ${polled.error.message}</p>` : null}
      ${!page && !polled.error ? html`<p aria-live="polite">Loading jobs…</p>` : null}
      ${page
        ? html`
            <${JobsTable}
              jobs=${page.jobs}
              caption=${`The batch's jobs, newest first (in the order the batch starts them)${tokens.length > 1 ? `, page ${tokens.length}` : ''}; a job's attempts are folded into one row.`}
              columns=${['stage', 'error', 'source', 'tiles', 'attempts', 'created']}
              empty=${live ? 'No job has been prepared yet: the batch is still listing its sources.' : 'No jobs.'}
            />
            <nav class="pager" aria-label="Pages of the batch's jobs">
              <button type="button" disabled=${tokens.length <= 1} onClick=${() => setTokens(tokens.slice(0, -1))}>Newer jobs</button>
              <button type="button" disabled=${!page.continuationToken} onClick=${() => setTokens([...tokens, page.continuationToken])}>Older jobs</button>
              <a href=${jobsHash({ ...noFilters, batch: batchId })}>All of them on the jobs page</a>
            </nav>
          `
        : null}
    </section>
  `;
}

export function BatchDetailPage({ id }: { id: string }) {
  const [finished, setFinished] = useState(false);
  // Bumped after a re-run: the jobs table shows the new attempts at once.
  const [jobsVersion, setJobsVersion] = useState(0);
  const polled = usePolling<BatchView>(
    async (signal) => {
      const batch = await getBatch(id, signal);
      setFinished(isFinished(batch.status));
      return batch;
    },
    pollMs,
    id,
    !finished,
  );
  const batch = polled.data;

  if (!batch) {
    return html`<main id="main" tabindex="-1">
      <p><a href=${batchesHash()}>← All batches</a></p>
      <h1>Batch <code>${id}</code></h1>
      ${polled.error
        ? html`<p class="error" role="alert">${polled.error instanceof ApiError && polled.error.status === 404 ? 'No batch has this id.' : `Could not load the batch: ${polled.error.message}`}</p>`
        : html`<p aria-live="polite">Loading the batch…</p>`}
    </main>`;
  }
  return html`
    <main id="main" tabindex="-1">
      <p><a href=${batchesHash()}>← All batches</a></p>
      <h1>Batch <code>${batch.id}</code></h1>
      <p class="live" aria-live="polite">${isFinished(batch.status) ? `This batch has finished: ${batch.status}.` : `Live: updated every ${pollMs / 1000} s while the batch runs.`}
        ${polled.error ? html` <span class="error">Last update failed: ${polled.error.message}</span>` : null}</p>
      <${BatchProgressBar} batch=${batch} />
      <${BatchFacts} batch=${batch} />
      <${RerunFailedSources} batch=${batch} onRetried=${() => setJobsVersion((n) => n + 1)} />
      <${BatchFailures} batch=${batch} />
      <${BatchJobs} batchId=${batch.id} live=${!isFinished(batch.status)} refreshKey=${jobsVersion} />
    </main>
  `;
}
