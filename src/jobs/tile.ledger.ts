/**
 * The tile ledger: every tile of a job with its state, attempts, times, error and URLs, the same
 * for every route. Tiles are planned from the grid the job recorded, then overlaid with what is
 * known of each: the tile branch's status (fan-out), the job's own status (single tile), or the
 * previous attempt's item (a retry reuses it).
 *
 * Pages hold 1,000 tiles; tile branch ids are zero-padded, so one instance-id prefix selects
 * exactly the branches of one page.
 */
import type { DurableClient } from 'durable-functions';
import type { IngestInput, IngestProgress, RegisteredItem, TileProgress, TileWindow } from '../pipeline/contracts.js';
import { failureFrom, isFailure, type Failure } from '../pipeline/failure.js';
import { deriveItemId, deriveTileInstanceId, tileInstancePrefix } from '../pipeline/ids.js';
import { planRecordedGrid } from '../raster/tile.plan.js';
import { cogBlob, thumbnailBlob } from '../stac/catalog.layout.js';
import type { BlobRef } from '../storage/blob.store.js';
import { listInstances, type InstanceStatus } from './durable.instances.js';

export const tilePageSize = 1000;

export type TileState = 'pending' | 'creating-cog' | 'registering' | 'done' | 'failed' | 'queued' | 'running';

export interface TileEntry {
  index: number;
  itemId: string;
  row: number;
  col: number;
  window: { x: number; y: number; width: number; height: number };
  /** WGS84 lon/lat, once the tile's COG exists. */
  bbox: [number, number, number, number] | null;
  state: TileState;
  route: 'functions' | 'worker';
  attempts: number;
  error: Failure | null;
  /**
   * When the tile began to wait for an activity slot or for the worker; `null` where the branch
   * did not tell waiting from working (jobs of version 1.2 and older on the Functions route): its
   * `startedAt` is then when it began to wait.
   */
  queuedAt: string | null;
  /** When its work started: `null` while it waits (`pending`, `queued`). */
  startedAt: string | null;
  endedAt: string | null;
  /** Milliseconds waited for a slot or the worker, summed over its steps and attempts; `null` until its work started, or when not told. */
  waitMs: number | null;
  /** Milliseconds of work as the activity or the worker measured them, summed; `null` until the tile ended, or when not told. */
  workMs: number | null;
  /** Taken from the previous attempt rather than made again. */
  reused: boolean;
  cogUrl: string | null;
  itemUrl: string | null;
  thumbnailUrl: string | null;
  /** App-relative URLs a browser can read (Range supported): `/api/cogs/<blob path>`. */
  cogHref: string | null;
  thumbnailHref: string | null;
}

export interface TileLedgerPage {
  jobId: string;
  total: number;
  tiles: TileEntry[];
  continuationToken: string | null;
}

/** The job, as its status tells it: what the ledger is planned from. */
export interface LedgerJob {
  id: string;
  input: IngestInput;
  progress: IngestProgress | undefined;
}

function isTileProgress(value: unknown): value is TileProgress {
  return typeof value === 'object' && value !== null && 'itemId' in value && 'stage' in value && 'attempts' in value;
}

function isRegisteredItem(value: unknown): value is RegisteredItem {
  return typeof value === 'object' && value !== null && 'itemId' in value && 'itemUrl' in value && 'cogUrl' in value;
}

/** `/api/cogs/<blob path>`, each segment encoded. */
export function cogsHref(ref: BlobRef): string {
  return `/api/cogs/${ref.name.split('/').map(encodeURIComponent).join('/')}`;
}

function stateOfProgress(progress: TileProgress): TileState {
  if (progress.stage === 'registered') return 'done';
  return progress.stage;
}

/** One ledger entry (pure): the planned window overlaid with whatever is known of the tile. */
export function buildTileEntry(
  job: LedgerJob,
  window: TileWindow,
  known: { instance?: InstanceStatus; inline?: TileProgress; reused?: RegisteredItem; jobEnded: boolean },
  blobUrl: (ref: BlobRef) => string,
): TileEntry {
  const itemId = deriveItemId(job.input.outputs.sourceKey, window);
  const entry: TileEntry = {
    index: window.index,
    itemId,
    row: window.row,
    col: window.col,
    window: { x: window.x, y: window.y, width: window.width, height: window.height },
    bbox: null,
    state: 'pending',
    route: 'functions',
    attempts: 0,
    error: null,
    queuedAt: null,
    startedAt: null,
    endedAt: null,
    waitMs: null,
    workMs: null,
    reused: false,
    cogUrl: null,
    itemUrl: null,
    thumbnailUrl: null,
    cogHref: null,
    thumbnailHref: null,
  };
  const done = (item: RegisteredItem): void => {
    entry.state = 'done';
    entry.bbox = item.bbox;
    entry.cogUrl = item.cogUrl;
    entry.itemUrl = item.itemUrl;
    const cog = cogBlob(job.input.outputs, itemId);
    entry.cogHref = cogsHref(cog);
    if (item.thumbnailUrl) {
      entry.thumbnailUrl = item.thumbnailUrl;
      entry.thumbnailHref = cogsHref(thumbnailBlob(job.input.outputs, itemId));
    }
    // A URL we can derive is the same one the activity reported: no need to trust the stored one.
    if (!entry.cogUrl) entry.cogUrl = blobUrl(cog);
  };
  const fromProgress = (progress: TileProgress): void => {
    entry.state = stateOfProgress(progress);
    entry.route = progress.route ?? 'functions';
    entry.attempts = progress.attempts;
    entry.endedAt = progress.endedAt ?? null;
    const timing = progress.timing;
    if (timing) {
      // Waiting told from working: the branch's start is when it began to wait.
      entry.queuedAt = progress.startedAt;
      entry.startedAt = timing.startedAt ?? null;
      entry.waitMs = timing.startedAt ? timing.waitMs : null;
      entry.workMs = progress.endedAt ? timing.workMs : null;
    } else {
      entry.startedAt = progress.startedAt;
    }
    if (progress.error && isFailure(progress.error)) entry.error = { code: progress.error.code, message: progress.error.message };
    if (progress.item && isRegisteredItem(progress.item)) done(progress.item);
  };

  if (known.reused) {
    done(known.reused);
    entry.reused = true;
    return entry;
  }
  if (known.inline) fromProgress(known.inline);
  const instance = known.instance;
  if (instance) {
    if (isTileProgress(instance.customStatus)) fromProgress(instance.customStatus);
    // A branch with no status yet has only just started.
    else entry.startedAt ??= instance.createdTime;
    if (instance.runtimeStatus === 'Completed' && isRegisteredItem(instance.output)) {
      done(instance.output);
      entry.endedAt ??= instance.lastUpdatedTime;
    } else if (instance.runtimeStatus === 'Failed' || instance.runtimeStatus === 'Terminated') {
      entry.state = 'failed';
      entry.endedAt ??= instance.lastUpdatedTime;
      entry.error ??= failureFrom(typeof instance.output === 'string' ? new Error(instance.output) : undefined);
    }
  }
  // A tile still "running" in a job that ended was never going to finish: the job failed first.
  if (known.jobEnded && entry.state !== 'done' && entry.state !== 'failed') {
    entry.state = 'failed';
    entry.error ??= { code: 'INTERNAL', message: 'the job ended before this tile finished' };
  }
  return entry;
}

function isIngestProgress(value: unknown): value is IngestProgress {
  return typeof value === 'object' && value !== null && 'stage' in value && 'tilesTotal' in value;
}

function isIngestInput(value: unknown): value is IngestInput {
  return typeof value === 'object' && value !== null && 'outputs' in value && 'source' in value && 'tileSize' in value;
}

/** The job's ledger inputs from its status, or `undefined` when it is not an ingestion job. */
export function ledgerJobOf(status: InstanceStatus): LedgerJob | undefined {
  if (!isIngestInput(status.input)) return undefined;
  return { id: status.instanceId, input: status.input, progress: isIngestProgress(status.customStatus) ? status.customStatus : undefined };
}

/** One page of a job's ledger: tiles `page * 1000` up to the next thousand. */
export async function readTileLedgerPage(client: DurableClient, job: LedgerJob, runtimeStatus: string, page: number, blobUrl: (ref: BlobRef) => string): Promise<TileLedgerPage> {
  const grid = job.progress?.grid;
  const windows = grid ? planRecordedGrid(grid) : [];
  const pageWindows = windows.slice(page * tilePageSize, (page + 1) * tilePageSize);
  const jobEnded = ['Completed', 'Failed', 'Terminated', 'Canceled'].includes(runtimeStatus);
  const reused = new Map((job.input.reuse ?? []).map((item) => [item.itemId, item]));

  const instances = new Map<string, InstanceStatus>();
  if (job.progress?.layout === 'fan-out' && pageWindows.length > 0) {
    // Ids are `<job>-tile-NNNNNN`: the first three digits select one page of 1,000 branches.
    const prefix = `${tileInstancePrefix(job.id)}${String(page).padStart(3, '0')}`;
    let continuationToken: string | undefined;
    do {
      const listed = await listInstances(client, { instanceIdPrefix: prefix, top: tilePageSize, ...(continuationToken ? { continuationToken } : {}) });
      for (const instance of listed.items) instances.set(instance.instanceId, instance);
      continuationToken = listed.continuationToken;
    } while (continuationToken);
  }
  const inline = job.progress?.layout === 'single-tile' ? job.progress.tile : undefined;

  const tiles = pageWindows.map((window) => {
    const itemId = deriveItemId(job.input.outputs.sourceKey, window);
    const instance = instances.get(deriveTileInstanceId(job.id, window));
    const reusedItem = reused.get(itemId);
    return buildTileEntry(
      job,
      window,
      { jobEnded, ...(instance ? { instance } : {}), ...(inline && inline.itemId === itemId ? { inline } : {}), ...(reusedItem ? { reused: reusedItem } : {}) },
      blobUrl,
    );
  });
  return { jobId: job.id, total: windows.length, tiles, continuationToken: (page + 1) * tilePageSize < windows.length ? String(page + 1) : null };
}

/**
 * Every item a job has registered so far: its tile branches that completed, its inline tile, and
 * the items it reused. A retry takes these as they are.
 */
export async function readRegisteredItems(client: DurableClient, job: LedgerJob): Promise<RegisteredItem[]> {
  const items = new Map<string, RegisteredItem>();
  for (const item of job.input.reuse ?? []) items.set(item.itemId, item);
  const inline = job.progress?.tile?.item;
  if (inline && isRegisteredItem(inline)) items.set(inline.itemId, inline);
  if (job.progress?.layout === 'fan-out') {
    let continuationToken: string | undefined;
    do {
      const listed = await listInstances(client, { instanceIdPrefix: tileInstancePrefix(job.id), top: tilePageSize, ...(continuationToken ? { continuationToken } : {}) });
      for (const instance of listed.items) {
        if (instance.runtimeStatus === 'Completed' && isRegisteredItem(instance.output)) items.set(instance.output.itemId, instance.output);
      }
      continuationToken = listed.continuationToken;
    } while (continuationToken);
  }
  return [...items.values()];
}
