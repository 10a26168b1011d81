/**
 * Watches jobs until they end: one progress bar per job on a terminal (cli-progress), one line
 * per change otherwise (logs and pipes get no control characters). Used by `submit --watch`,
 * `retry --watch` and the demo.
 */
import cliProgress from 'cli-progress';
import { formatTileCounts } from './cli.format.js';
import type { JobView } from './jobs.api.js';
import type { JobsClient, WaitOptions } from './jobs.client.js';

/** A terminal (bars) or any other writable stream (a line per change). */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

export interface WatchedJob {
  id: string;
  /** Shown in front of the bar; the id when omitted. */
  label?: string;
}

export interface WatchOptions extends Pick<WaitOptions, 'intervalMs' | 'timeoutMs' | 'signal'> {
  /** Where bars or lines go (stderr by default, so stdout keeps only the result). */
  stream?: ProgressStream;
}

function stageLabel(view: JobView): string {
  if (view.status === 'Completed') return 'completed';
  if (view.status === 'Failed' || view.status === 'Terminated' || view.status === 'Canceled') return view.status.toUpperCase();
  return view.stage;
}

/** One line describing a job's progress, for streams that are not terminals. */
export function formatProgressLine(label: string, view: JobView): string {
  return `${label}: ${stageLabel(view)}, tiles ${formatTileCounts(view.tiles)}`;
}

/** Waits for every job at once; resolves with their last views, in the order given. */
export async function watchJobs(client: JobsClient, jobs: readonly WatchedJob[], options: WatchOptions = {}): Promise<JobView[]> {
  const stream = options.stream ?? process.stderr;
  const labelWidth = Math.max(...jobs.map((job) => (job.label ?? job.id).length));
  const wait = { intervalMs: options.intervalMs, timeoutMs: options.timeoutMs, signal: options.signal };

  if (!stream.isTTY) {
    return Promise.all(
      jobs.map((job) => {
        let previous = '';
        const label = job.label ?? job.id;
        return client.waitForJob(job.id, {
          ...wait,
          onProgress: (view) => {
            const line = formatProgressLine(label, view);
            if (line !== previous) stream.write(`${line}\n`);
            previous = line;
          },
        });
      }),
    );
  }

  const bars = new cliProgress.MultiBar(
    // A narrow bar, so label, counts and stage fit an 80-column terminal.
    { format: ' {label} |{bar}| {tiles} | {stage}', barsize: 24, hideCursor: true, clearOnComplete: false, stream },
    cliProgress.Presets.shades_classic,
  );
  try {
    return await Promise.all(
      jobs.map((job) => {
        const bar = bars.create(1, 0, { label: (job.label ?? job.id).padEnd(labelWidth), tiles: 'tiles not planned yet', stage: 'submitted' });
        return client.waitForJob(job.id, {
          ...wait,
          onProgress: (view) => {
            // Failed tiles are finished too: the bar fills as tiles end, the counts say how.
            bar.setTotal(Math.max(view.tiles.total, 1));
            const tiles = view.tiles.total > 0 ? `tiles ${formatTileCounts(view.tiles)}` : 'tiles not planned yet';
            bar.update(view.tiles.done + view.tiles.failed, { tiles, stage: stageLabel(view) });
          },
        });
      }),
    );
  } finally {
    bars.stop();
  }
}
