/**
 * Watches a batch until it ends: a progress bar over its sources on a terminal (cli-progress),
 * one line per change otherwise. Sources count as they end, done, failed or skipped alike; the
 * counts say how. Used by `batch <id> --watch` and `batch submit --watch`.
 */
import cliProgress from 'cli-progress';
import { formatBatchCounts, formatSeconds } from './cli.format.js';
import type { BatchView } from './jobs.api.js';
import type { JobsClient } from './jobs.client.js';
import type { ProgressStream, WatchOptions } from './job.progress.js';

/** Time left only on a bar: it changes on every read, and a line is written per change. */
function stageLabel(batch: BatchView, withTimeLeft: boolean): string {
  if (batch.status === 'Completed') return batch.counts.failed > 0 ? 'completed with failed sources' : 'completed';
  if (batch.status === 'Failed' || batch.status === 'Terminated' || batch.status === 'Canceled') return batch.status.toUpperCase();
  const left = !withTimeLeft || batch.estimatedSecondsLeft === null ? '' : `, about ${formatSeconds(batch.estimatedSecondsLeft)} left`;
  return `${batch.stage}${left}`;
}

/** One line describing a batch's progress, for streams that are not terminals. */
export function formatBatchProgressLine(label: string, batch: BatchView): string {
  return `${label}: ${stageLabel(batch, false)}, sources ${formatBatchCounts(batch.counts)}`;
}

/** Waits for the batch to end; resolves with its last view. */
export async function watchBatch(client: JobsClient, id: string, options: WatchOptions = {}): Promise<BatchView> {
  const stream: ProgressStream = options.stream ?? process.stderr;
  const wait = { intervalMs: options.intervalMs, timeoutMs: options.timeoutMs, signal: options.signal };
  if (!stream.isTTY) {
    let previous = '';
    return client.waitForBatch(id, {
      ...wait,
      onProgress: (batch) => {
        const line = formatBatchProgressLine(id, batch);
        if (line !== previous) stream.write(`${line}\n`);
        previous = line;
      },
    });
  }
  const bar = new cliProgress.SingleBar(
    { format: ' {label} |{bar}| {counts} | {stage}', barsize: 24, hideCursor: true, clearOnComplete: false, stream },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1, 0, { label: 'batch', counts: 'no sources listed yet', stage: 'submitted' });
  try {
    return await client.waitForBatch(id, {
      ...wait,
      onProgress: (batch) => {
        bar.setTotal(Math.max(batch.counts.total, 1));
        const counts = batch.counts.total > 0 ? formatBatchCounts(batch.counts) : 'no sources listed yet';
        bar.update(batch.counts.done + batch.counts.failed + batch.counts.skipped, { counts, stage: stageLabel(batch, true) });
      },
    });
  } finally {
    bar.stop();
  }
}
