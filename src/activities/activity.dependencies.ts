/** What the ingestion activities need from the outside world, passed in by whoever registers them. */
import { join } from 'node:path';
import type { IngestSettings } from '../config.js';
import { SourceInspector } from '../inspection/source.inspector.js';
import type { JobIndex } from '../jobs/job.index.js';
import type { RetiredOutputs } from '../jobs/retired.outputs.js';
import type { QueueSender } from '../queue/message.queue.js';
import { configureGdal } from '../raster/gdal.setup.js';
import type { BlobStore } from '../storage/blob.store.js';
import type { StacApiClient } from '../stac/stac.api.client.js';
import { createFilePausePoint, noPause, type PausePoint } from './pause.points.js';
import { ScratchSpace } from './scratch.space.js';
import { resolveScratchDir, SourceCache } from './source.cache.js';

export interface ActivityDependencies {
  store: BlobStore;
  settings: IngestSettings;
  /** Local source copies, shared by the activities of one process. */
  sources: SourceCache;
  /** Folder for temporary outputs (COGs before upload): this process's own, under the scratch root. */
  scratchDir: string;
  /** This process's part of the scratch root (its folder, heartbeat and the sweep of dead processes' folders). */
  scratch: ScratchSpace;
  /** Test hook: named points where a test can hold this process (`pause.points.ts`); a no-op unless set. */
  pause: PausePoint;
  /** When set, items and collections are also published to this STAC API (Transaction extension), besides the static catalog. */
  stacApi?: StacApiClient;
  /** The jobs index (one row per job, for lists and bulk retry). */
  jobs: JobIndex;
  /** Replaced versions of sources' outputs, kept readable for the grace period before the retention timer deletes them. */
  retired: RetiredOutputs;
  /** The work queue of the container worker, opened on first use. */
  workQueue: () => QueueSender;
  /** Inspects untrusted uploads for validation, in child processes with time and memory limits. */
  inspector: SourceInspector;
}

/** Inspections at once: as many as activities run at once (host.json's maxConcurrentActivityFunctions). */
const inspectorProcesses = 2;

/**
 * Dependencies with one shared source cache, in this process's own folder under the configured
 * scratch root (`scratch.space.ts`: processes sharing the root never delete each other's files).
 */
export function createActivityDependencies(options: {
  store: BlobStore;
  settings: IngestSettings;
  jobs: JobIndex;
  retired: RetiredOutputs;
  workQueue?: () => QueueSender;
  stacApi?: StacApiClient;
}): ActivityDependencies {
  // Under `auto` most sources are copied, so the local-copy read path is set (gdal.setup.ts).
  configureGdal(process.env, { tilesReadLocalCopies: options.settings.sourceRead !== 'in-place' });
  const scratch = new ScratchSpace(resolveScratchDir(options.settings.scratchDir), { log: (line) => console.log(line) });
  const pause = options.settings.testPauseDir ? createFilePausePoint(options.settings.testPauseDir) : noPause;
  return {
    store: options.store,
    settings: options.settings,
    sources: new SourceCache(options.store, join(scratch.folder, 'sources'), options.settings.scratchMaxBytes, pause),
    scratchDir: scratch.folder,
    scratch,
    pause,
    jobs: options.jobs,
    inspector: new SourceInspector({ timeoutSeconds: options.settings.inspection.timeoutSeconds, memoryMb: options.settings.inspection.memoryMb, processes: inspectorProcesses }),
    retired: options.retired,
    workQueue:
      options.workQueue ??
      (() => {
        throw new Error('No work queue is configured for the container worker');
      }),
    ...(options.stacApi ? { stacApi: options.stacApi } : {}),
  };
}
