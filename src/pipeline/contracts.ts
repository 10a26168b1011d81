/**
 * The data that flows between the orchestrators and their activities. Pure types and names:
 * the orchestrators import this module, so nothing here may do I/O.
 */
import type { DerivedProduct, QualityGates } from '../collections/definition.schema.js';
import type { GateViolation } from '../collections/quality.gates.js';
import type { CloudEvent } from '../collections/cloud.events.js';
import type { ScheduleCarry, ScheduleRun, ScheduleSnapshot } from '../collections/schedule.plan.js';
import type { Failure, FailureCode } from './failure.js';
import type { IngestOptions } from './options.js';

export const orchestratorNames = {
  ingestRaster: 'ingestRaster',
  ingestTile: 'ingestTile',
  ingestBatch: 'ingestBatch',
  collectionMosaic: 'collectionMosaic',
  /** An operator's decision on a quarantined job: publish its kept outputs, or delete them (src/orchestrations/quarantine.orchestrator.ts). */
  resolveQuarantine: 'resolveQuarantine',
  /** One per collection schedule, for ever (continue-as-new): waits for its windows, checks "after", submits its batch (src/orchestrations/schedule.orchestrator.ts). */
  collectionSchedule: 'collectionSchedule',
  /** One derived collection's products of one job's published items (src/orchestrations/derived.orchestrator.ts, version 1.6 on). */
  deriveProducts: 'deriveProducts',
  /** A source blob was deleted: its outputs leave every collection that published it (src/orchestrations/source.removal.orchestrator.ts). */
  removeSource: 'removeSource',
} as const;

/** The event a definition change raises on a schedule instance: read the definition again now. */
export const scheduleChangedEvent = 'definitionChanged';

/** Durable entities of the app. */
export const entityNames = {
  /** Whether a collection's mosaic needs building again: jobs mark it, the mosaic orchestration claims it (one per collection). */
  collectionMosaicRequests: 'collectionMosaicRequests',
  /** Tiles out to the container worker, across all jobs: a counting semaphore with FIFO grants (one, keyed by the work queue). */
  workerDispatchPermits: 'workerDispatchPermits',
} as const;

/** Operations of the `workerDispatchPermits` entity (src/orchestrations/dispatch.permits.entity.ts). */
export const dispatchPermitOperations = {
  /** A tile asks for a permit: granted now, or queued in arrival order (asking again keeps its place). */
  acquire: 'acquire',
  /** A tile's worker step ended (result, failure or TIMEOUT): its permit goes to the next in line. */
  release: 'release',
  /** Holders found gone (terminated, purged, ended without releasing): their permits go to the next in line. */
  reclaim: 'reclaim',
} as const;

/** What a tile sends with `acquire`. */
export interface PermitRequest {
  /** The orchestration instance asking (it holds at most one permit at a time). */
  holder: string;
  /** The permits there are (the setting as the job was submitted; the latest request's wins). */
  capacity: number;
  /** The orchestration's time of the request (the entity keeps no clock of its own). */
  at: string;
  /** A waiting tile asking again: it may be handed the audit of the holders. */
  recheck?: boolean;
}

/** The entity's answer to `acquire`. */
export interface PermitAnswer {
  granted: boolean;
  /** Place in line (0: next) while not granted. */
  position: number;
  /** Others this operation granted a permit to: the caller tells them (`announceDispatchPermits`). */
  grants: string[];
  /** When set, the caller checks that these holders still run (`auditDispatchPermits`) and reclaims the permits of those gone. */
  audit?: string[];
}

/** The entity's answer to `release` and `reclaim`. */
export interface PermitRelease {
  grants: string[];
}

/** Raised on a waiting tile when its turn comes. */
export const dispatchPermitEvent = 'dispatch-permit';

/** Operations of the `collectionMosaicRequests` entity. */
export const mosaicRequestOperations = {
  /** A job published into the collection: its mosaic is out of date. */
  request: 'request',
  /** Returns whether a build was requested since the last claim, and clears the mark. */
  claim: 'claim',
  /**
   * A job (1.7 on) published: marks the mosaic out of date like `request`, and answers whether the
   * job should start a run (`true`), or one it started is still to claim the mark (`false`).
   * Input `{ at }`: the job's orchestration time (`MosaicRunRequest`).
   */
  requestRun: 'requestRun',
} as const;

/** The input of `requestRun`. */
export interface MosaicRunRequest {
  at: string;
}

/**
 * An activity's name with its input and output types attached, so the orchestrator's call and
 * the activity's registration are checked against the same contract (no casts at call sites).
 */
export interface ActivityContract<Input, Output> {
  readonly name: string;
  /** Type carriers only; never set. */
  readonly types?: { input: Input; output: Output };
}

function activityContract<Input, Output>(name: string): ActivityContract<Input, Output> {
  return { name };
}

/**
 * What every activity returns: its value, or a final failure (one no retry can fix, e.g. a bad
 * upload). Failures worth retrying are thrown instead, so the Durable retry policy sees them.
 * `ran` is when the activity itself ran (its own clock): the time it waited for a slot is not in
 * it. Optional: outcomes in histories recorded before it existed have none.
 */
export type ActivityOutcome<Output> = ({ ok: true; value: Output } | { ok: false; failure: Failure }) & { ran?: WorkSpan };

/** When a piece of work ran, by the clock of whoever ran it (ISO 8601). */
export interface WorkSpan {
  startedAt: string;
  endedAt: string;
}

/**
 * Where an activity says it has started: it raises `eventName` on the orchestration `instanceId`
 * with a `WorkStartedEvent`, so the tile shows `queued` while it waits for an activity slot and
 * working from then on (version 1.3 on).
 */
export interface StartNotice {
  instanceId: string;
  eventName: string;
}

export interface WorkStartedEvent {
  kind: 'work-started';
  startedAt: string;
}

/** The uploaded blob a job ingests, pinned to the ETag it had when the job was submitted. */
export interface SourceBlob {
  container: string;
  name: string;
  etag: string;
  size: number;
  /** The blob's Last-Modified time (ISO 8601) at submission: orders versions of one source. */
  lastModified: string;
}

/**
 * Where a job's outputs go in its collection. `sourceKey` is unique per source (container and
 * exact blob path) and stable across versions; `version` is unique per blob version, tile size
 * and options, so two versions of one source never write the same COG. See docs/raster-output.md.
 */
export interface OutputLocation {
  collection: string;
  sourceKey: string;
  version: string;
}

/** Which of two jobs of the same source is newer: the later blob version, then the later job. */
export interface VersionOrder {
  sourceModified: string;
  jobStarted: string;
}

export interface IngestInput {
  source: SourceBlob;
  collection: string;
  options: IngestOptions;
  /** Tile edge in pixels, resolved from the options or the host setting at submission. */
  tileSize: number;
  /** Output names, derived at submission (hashing is not for orchestrators). */
  outputs: OutputLocation;
  /** 1 for the first job of this upload and these options; resubmitting after a failure (or with `force`) adds one. */
  attempt: number;
  /** The instance id of the attempt before this one. */
  previousAttempt?: string;
  /** The job's row in the jobs index (written at submission, updated when the job ends). */
  index: { key: string; createdTime: string };
  worker: WorkerRouting;
  /** A job of a batch leaves the collection to its batch, which finalizes many sources at once. */
  deferFinalize?: boolean;
  /** The batch this job belongs to. */
  batchId?: string;
  /**
   * Tiles an earlier attempt already made and registered (a retry of a failed job): they are
   * taken as they are, not made again, so their blobs are untouched.
   */
  reuse?: RegisteredItem[];
  /**
   * The collection's definition as the job runs it, read once at submission (src/collections):
   * its version, and its quality gates. Absent for a collection without a definition, and in
   * instances started before collections had definitions.
   */
  definition?: JobCollectionDefinition;
}

/** What a job takes from its collection's definition (`IngestInput.definition`). */
export interface JobCollectionDefinition {
  version: number;
  gates: QualityGates;
}

export interface BandInfo {
  /** GDAL data type name, e.g. `Byte`, `Int16`, `Float32`. */
  gdalDataType: string;
  /** `null` when the band declares none; `"nan"` for a NaN nodata value. */
  nodata: number | 'nan' | 'inf' | '-inf' | null;
  colorInterpretation: string;
  hasColorTable: boolean;
  description: string;
  unit: string | null;
  /** Packed values: physical = packed × scale + offset (CF scale_factor/add_offset). Absent when 1 and 0, and in older histories. */
  scale?: number;
  offset?: number;
}

export interface CrsInfo {
  /** `"EPSG:32633"`, or `null` when the CRS has no authority code. */
  code: string | null;
  wkt2: string;
  projjson: unknown;
}

/** What validation learned about a source raster. */
export interface RasterInfo {
  driver: string;
  width: number;
  height: number;
  bands: BandInfo[];
  crs: CrsInfo | null;
  /** GDAL order: [originX, pixelWidth, rowRotation, originY, columnRotation, pixelHeight]. */
  geoTransform: [number, number, number, number, number, number];
  /** The CRS assumed for a source that declares none (e.g. `EPSG:4326` for CF longitude/latitude grids); absent when it declares one. */
  crsAssumed?: string;
  /**
   * A source of gridded variables (netCDF): each variable, and each band of it (a time step, a
   * level), becomes its own items. The fields above then describe the first variable. Absent for
   * a source that is one raster (GeoTIFF, …) and in histories recorded before it existed.
   */
  variables?: RasterVariable[];
}

/** One gridded variable of a source, as validation described it (see `RasterInfo.variables`). */
export interface RasterVariable {
  /** The variable's name in the file (safe to put in a GDAL dataset name: `source.variables.ts`). */
  name: string;
  /** Its part of item ids: path-safe, without `-`, unique within the source. */
  key: string;
  /** `true` when the file holds several variables and this one is opened alone; `false` when it is the file's only raster. */
  subdataset: boolean;
  width: number;
  height: number;
  /** Its first band (every band of one netCDF variable has the same type, nodata, scale and offset). */
  band: BandInfo;
  /**
   * Bands of the variable's dataset, one per step of its extra dimensions (time, level); 1 when it
   * has none. Each band becomes its own COG and item.
   */
  steps: number;
  /** How item ids name a step: `t` (the one extra dimension is time), `b` (a band of several extra dimensions), or none (no extra dimension). */
  stepLabel: 't' | 'b' | null;
  crs: CrsInfo | null;
  geoTransform: [number, number, number, number, number, number];
  crsAssumed?: string;
}

/** Which 2-D raster of a source a tile window is cut from: one variable, and one band of it. */
export interface TileSlice {
  /** The variable's name in the file. */
  variable: string;
  /** Its part of the item id (`RasterVariable.key`). */
  variableKey: string;
  /** The file holds several variables: this one is opened alone (`RasterVariable.subdataset`). */
  subdataset?: true;
  /** The band (1-based) of the variable's dataset; absent: its only band. */
  band?: number;
  /** `t` or `b` (see `RasterVariable.stepLabel`); absent with `band`. */
  stepLabel?: 't' | 'b';
}

export interface ValidateRasterInput {
  source: SourceBlob;
  /** When given, validation also rejects options this raster cannot take (e.g. JPEG on float data). Absent in histories recorded before it existed. */
  options?: IngestOptions;
  /** The job's tile size: validation refuses a raster of more tiles than a job may plan. Absent in instances started before it: options, then the setting. */
  tileSize?: number;
}

/** A pixel window of the source, in source pixel coordinates. */
export interface TileWindow {
  /** Its place in the job's plan, over all slices. */
  index: number;
  row: number;
  col: number;
  x: number;
  y: number;
  width: number;
  height: number;
  /** The variable and band it is cut from; absent for a source that is one raster (and in older histories). */
  slice?: TileSlice;
}

export interface CreateTileCogInput {
  source: SourceBlob;
  outputs: OutputLocation;
  itemId: string;
  window: TileWindow;
  options: IngestOptions;
  /**
   * The CRS validation assumed for the tile's raster (`RasterInfo.crsAssumed`), or `null` when it
   * assumed none. Absent in histories recorded before it existed: the tile then decides again
   * from the source's header.
   */
  assumedCrs?: string | null;
}

/** Statistics of one band of a tile COG. */
export interface BandStatistics {
  minimum: number;
  maximum: number;
  mean: number;
  stddev: number;
  valid_percent: number;
  /** `true` when computed from overviews rather than every pixel. */
  approximate: boolean;
}

/** Everything the STAC item of a tile needs, measured from the tile COG itself. */
export interface TileCog {
  itemId: string;
  window: TileWindow;
  blob: { container: string; name: string; url: string };
  size: number;
  /** SHA-256 multihash, lowercase hex (`1220…`). */
  checksum: string;
  width: number;
  height: number;
  geoTransform: [number, number, number, number, number, number];
  crs: CrsInfo | null;
  bands: Array<BandInfo & { statistics: BandStatistics | null }>;
  /** WGS84 footprint, lon/lat, densified; split at the antimeridian when needed. */
  geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown };
  bbox: [number, number, number, number];
  /** Bounds in the native CRS: [minX, minY, maxX, maxY]. */
  nativeBbox: [number, number, number, number];
  /** PNG preview uploaded next to the COG. Absent in histories recorded before it existed. */
  thumbnail?: { container: string; name: string; url: string };
  /**
   * When the source was acquired, from its metadata (ISO 8601 UTC; `start === end` for an
   * instant), and the metadata key it came from; `null` when it has none. Absent in histories recorded before it existed.
   */
  acquired?: { start: string; end: string; source: string } | null;
  /**
   * Metadata of the upload left out of the COG or the item (out of range, not a number, too long),
   * one short sentence each, at most 20; absent when there are none. Absent in histories recorded before it existed.
   */
  notes?: string[];
}

export interface RegisterTileItemInput {
  outputs: OutputLocation;
  source: SourceBlob;
  tile: TileCog;
  /** ISO timestamp from the orchestration clock, so replays produce the same item. */
  datetime: string;
  /** An item already written by a newer version of this source is left as it is. */
  order: VersionOrder;
}

/** Make a tile's COG and register its item in one step (the Functions route, version 1.2 on). */
export interface CreateAndRegisterTileInput extends CreateTileCogInput {
  /** ISO timestamp from the orchestration clock, so replays produce the same item. */
  datetime: string;
  order: VersionOrder;
  /** Where to say the work started (version 1.3 on). */
  startNotice?: StartNotice;
}

/**
 * Validate a source and, when it plans one tile on the Functions route, make that tile's COG and
 * register its item in the same call (version 1.7 on): a small job saves an activity round trip,
 * a replay and a second look at its source. The orchestrator plans again from `info` and uses the
 * tile only where its own plan agrees.
 */
export interface ValidateAndCreateTileInput extends ValidateRasterInput {
  options: IngestOptions;
  tileSize: number;
  /** What the single tile needs besides the window the activity plans; absent: validation only. */
  singleTile?: {
    outputs: OutputLocation;
    datetime: string;
    order: VersionOrder;
    worker: Pick<WorkerRouting, 'thresholdBytes'>;
    /** The collection's quality gates, checked on the tile made here (the orchestrator quarantines on a violation). */
    gates?: QualityGates;
  };
}

/** The tile made with validation: its item, or why it failed (the orchestrator then takes the tile's own steps). */
export type SingleTileOutcome = { ok: true; item: RegisteredItem; ran: WorkSpan; violations?: GateViolation[] } | { ok: false; failure: Failure };

export interface ValidatedSource {
  info: RasterInfo;
  /** Absent when the source plans more than one tile, goes to the worker, or no tile was asked for. */
  tile?: SingleTileOutcome;
}

export interface RegisteredItem {
  itemId: string;
  itemUrl: string;
  cogUrl: string;
  cogBytes: number;
  bbox: [number, number, number, number];
  /** The tile's `proj:code` (`null` without an EPSG code), summarised by the collection. Absent in histories recorded before it existed. */
  projCode?: string | null;
  /** The tile's pixel window in the source, for the collection's VRT mosaic. Absent in histories recorded before it existed. */
  window?: TileWindow;
  /** The item's time: [datetime, datetime] or [start_datetime, end_datetime], for the collection's temporal extent. Absent in histories recorded before it existed. */
  interval?: [string, string];
  /** The tile's PNG preview, when one was rendered. Absent in histories recorded before it existed. */
  thumbnailUrl?: string;
}

/** What one job publishes of one source: its items, in its version folder, in its version order. */
export interface SourcePublication {
  outputs: OutputLocation;
  source: SourceBlob;
  items: RegisteredItem[];
  /** Decides whether this output replaces the source's current one (newer) or is dropped (older). */
  order: VersionOrder;
  /** The job's options; needed for the VRT mosaic when they reproject (`targetCrs`). */
  options?: IngestOptions;
  /** The job that made it: the source's record keeps it, so the job it replaces can name it. Absent in histories recorded before it existed. */
  jobId?: string;
  /**
   * The CRS validation assumed for the source (`RasterInfo.crsAssumed`), or `null`: its VRT mosaic
   * opens the source as the tiles did. Absent in histories recorded before it existed (decided
   * again from the header then).
   */
  assumedCrs?: string | null;  /** A derived collection's publication (issue 24): the collection its items were made from. Its items have no VRT of the upload. */
  derivedFrom?: { collection: string };
}

/** One job's publication, or a batch chunk's (the collection is then merged once for all). */
export interface FinalizeCollectionInput {
  collection: string;
  publications: SourcePublication[];
  datetime: string;
  /**
   * The job's end for the jobs index, written once its publication is done (a standalone job of
   * 1.7 on: one activity fewer than a `recordJob` of its own). Absent: the job records its end itself.
   */
  endRecord?: RecordJobInput;
  /**
   * Look up the collections deriving from this one first (a job of 1.7 on that derives products):
   * when there are any, the end record is not written (the job is not done until they are) and
   * the plans come back in `derivedPlans`, so the job needs no lookup of its own.
   */
  lookUpDerived?: boolean;
}

/** What became of one source's publication. */
export interface PublicationOutcome {
  sourceKey: string;
  outcome: 'published' | 'superseded' | 'conflict';
  replacedItems: number;
  failure?: Failure;
}

export interface FinalizedCollection {
  collectionId: string;
  collectionUrl: string;
  catalogUrl: string;
  itemCount: number;
  /** Items of earlier versions of these sources that this output replaced (unlinked; their COGs are deleted after the grace period). */
  replacedItems: number;
  /** `true` when newer versions of every source had already been published: this output was discarded. */
  superseded: boolean;
  /** Per source, in the order given. */
  sources: PublicationOutcome[];
  /** With `lookUpDerived`: whether the end record was written (it is not when collections derive from this one). */
  endRecorded?: boolean;
  /** With `lookUpDerived`: the collections deriving from this one, by their current definitions. */
  derivedPlans?: DerivedCollectionPlan[];
}

/** Rebuild a collection's mosaic and overview from every tile it publishes. */
export interface BuildCollectionMosaicInput {
  collection: string;
}

/** Ask for the collection's mosaic to be rebuilt, without waiting for it. */
export interface RequestCollectionMosaicInput {
  collection: string;
}

/** The mosaic orchestration the request started (it may find the work already done and stop). */
export interface CollectionMosaicRequested {
  instanceId: string;
}

/** Input of the `collectionMosaic` orchestration. */
export interface CollectionMosaicRun {
  collection: string;
}

/** How a `collectionMosaic` orchestration ended. */
export type CollectionMosaicRunOutput =
  | { collection: string; outcome: 'built'; mosaic: CollectionMosaicOutput }
  /** Another run claimed the request first: it builds with this job's items. */
  | { collection: string; outcome: 'coalesced' }
  | { collection: string; outcome: 'failed'; failure: Failure };

/** What the collection mosaic activity made (and registered as the collection's assets). */
export interface CollectionMosaicOutput {
  collection: string;
  /** One VRT per CRS and band types, largest first; the first is the collection's `mosaic` asset. */
  mosaics: Array<{ group: string; url: string; sources: number; tiles: number }>;
  /** The low-resolution overview COG, when one was made. */
  overview?: { url: string; width: number; height: number; groups: string[] };
  /** Sources left out (no tile windows, or their tiles could not be read), with why; the first 20. */
  skipped: Array<{ sourceKey: string; reason: string }>;
}

/** Small rasters (one tile) run their steps inline; larger ones fan out one branch per tile. */
export type TileLayout = 'single-tile' | 'fan-out';

/** Where tiles are made: in the Functions app, or by the container worker over the work queue. */
export type TileRoute = 'functions' | 'worker';

/** What the worker route needs, resolved from settings at submission (orchestrators read none). */
export interface WorkerRouting {
  /** Rasters larger than this uncompressed go to the worker when the job's route is `auto`. */
  thresholdBytes: number;
  /** How long a tile waits for the worker before it is sent again. */
  tileTimeoutSeconds: number;
  /** Tiles out to the worker at once across all jobs (`INGEST_WORKER_DISPATCH_PERMITS`); absent in inputs from before version 1.4. */
  dispatchPermits?: number;
}

/** The worker gets one tile: the orchestration `instanceId` waits for `eventName`. */
export interface DispatchTileInput {
  instanceId: string;
  eventName: string;
  dispatchId: string;
  input: CreateTileCogInput;
}

/** A failure of one tile (or of the job as a whole, without `itemId`). */
export interface JobFailure extends Failure {
  itemId?: string;
}

/** What a job writes to the jobs index when it ends. */
export interface RecordJobInput {
  key: string;
  id: string;
  /** The batch the job belongs to, if any (the jobs list filters on it). */
  batch?: string;
  source: string;
  collection: string;
  createdTime: string;
  attempt: number;
  previousAttempt: string | null;
  /** `Quarantined`: a quality gate stopped it before publishing; `Rejected`: an operator then deleted its outputs. */
  status: 'Completed' | 'Failed' | 'Quarantined' | 'Rejected';
  lastUpdatedTime: string;
  tilesDone: number;
  tilesFailed: number;
  tilesTotal: number;
  errors: JobFailure[];
  errorCodes: FailureCode[];
}

export const activities = {
  validateRaster: activityContract<ValidateRasterInput, RasterInfo>('validateRaster'),
  validateAndCreateTile: activityContract<ValidateAndCreateTileInput, ValidatedSource>('validateAndCreateTile'),
  createTileCog: activityContract<CreateTileCogInput, TileCog>('createTileCog'),
  createAndRegisterTile: activityContract<CreateAndRegisterTileInput, RegisteredItem>('createAndRegisterTile'),
  registerTileItem: activityContract<RegisterTileItemInput, RegisteredItem>('registerTileItem'),
  finalizeCollection: activityContract<FinalizeCollectionInput, FinalizedCollection>('finalizeCollection'),
  dispatchTile: activityContract<DispatchTileInput, void>('dispatchTile'),
  listBatchSources: activityContract<ListBatchSourcesInput, BatchSourcePage>('listBatchSources'),
  prepareBatchJobs: activityContract<PrepareBatchJobsInput, PreparedBatchJob[]>('prepareBatchJobs'),
  recordJob: activityContract<RecordJobInput, void>('recordJob'),
  buildCollectionMosaic: activityContract<BuildCollectionMosaicInput, CollectionMosaicOutput>('buildCollectionMosaic'),
  requestCollectionMosaic: activityContract<RequestCollectionMosaicInput, CollectionMosaicRequested>('requestCollectionMosaic'),
  checkQualityGates: activityContract<CheckQualityGatesInput, GateViolation[]>('checkQualityGates'),
  deleteQuarantinedOutputs: activityContract<DeleteQuarantinedOutputsInput, { deleted: number }>('deleteQuarantinedOutputs'),
  /** A quarantined job's row after the operator's decision: `Completed` once published, `Rejected` once deleted. */
  markJobDecision: activityContract<Pick<RecordJobInput, 'key' | 'status' | 'lastUpdatedTime'>, void>('markJobDecision'),
  /** CloudEvents of a job's transitions to its collection's webhooks and the Event Grid topic (src/activities/events.publish.ts). */
  publishEvents: activityContract<PublishEventsInput, { delivered: number; dropped: string[] }>('publishEvents'),
  /** Tells tiles granted a dispatch permit that their turn has come (raises `dispatchPermitEvent`). */
  announceDispatchPermits: activityContract<{ holders: string[] }, void>('announceDispatchPermits'),
  /** Of these permit holders, the ones that no longer run (ended, terminated, purged): their permits are reclaimed. */
  auditDispatchPermits: activityContract<{ holders: string[] }, string[]>('auditDispatchPermits'),
  /** A schedule's definition now (`null`: the collection or the schedule is gone), read once per step. */
  readScheduleDefinition: activityContract<ScheduleRef, ScheduleSnapshot | null>('readScheduleDefinition'),
  /** Of a schedule's "after" dependencies, those not completed since `since` (`collection:<id>` / `batch:<id>`). */
  checkScheduleAfter: activityContract<CheckScheduleAfterInput, string[]>('checkScheduleAfter'),
  /** Submits a scheduled batch over the schedule's source for what arrived since its last run. */
  runScheduledBatch: activityContract<RunScheduledBatchInput, ScheduleRun>('runScheduledBatch'),
  /** The collections whose definitions derive from this one, with their derivation (read once per job, 1.6 on). */
  listDerivedCollections: activityContract<{ collection: string }, DerivedCollectionPlan[]>('listDerivedCollections'),
  /** One derived COG and its STAC item, made from one source item's COG in the `cogs` container. */
  createDerivedItem: activityContract<CreateDerivedItemInput, RegisteredItem>('createDerivedItem'),
  /** Deletes what every derived collection made of these source items (items, COGs, records); the source removal calls it. */
  removeDerivedProducts: activityContract<RemoveDerivedProductsInput, RemovedDerivedProducts>('removeDerivedProducts'),
  /** Whether a deleted source is really gone, and which collections publish (or hold outputs of) it (src/activities/source.removal.ts). */
  findSourceOutputs: activityContract<SourceRemovalInput, SourceOutputsFound>('findSourceOutputs'),
  /** Jobs of a source still running (by the jobs index), at most a few: a removal waits for them before it looks for outputs. */
  findRunningJobs: activityContract<{ source: { container: string; name: string } }, string[]>('findRunningJobs'),
  /** A deleted source's items, COGs, thumbnails, VRT, catalogs and record out of one collection. */
  removeSourceOutputs: activityContract<RemoveSourceOutputsInput, RemovedSourceOutputs>('removeSourceOutputs'),
} as const;

export interface ScheduleRef {
  collection: string;
  name: string;
}

/** The schedule orchestration's input: which schedule, how often to re-check unmet dependencies, and what it carries between steps. */
export interface ScheduleInput extends ScheduleRef {
  recheckMs: number;
  carry?: ScheduleCarry;
}

export interface CheckScheduleAfterInput {
  after: ScheduleSnapshot['after'];
  since: string;
}

export interface RunScheduledBatchInput extends ScheduleRef {
  snapshot: ScheduleSnapshot;
  window: string;
  /** The previous run's listing time: only blobs modified since are taken (none: everything there). */
  since: string | null;
}

/** What a derived collection makes of another's items (`derivedFrom` of its definition). */
export interface Derivation {
  collection: string;
  product: DerivedProduct;
  bands?: [number, number];
  targetCrs?: string;
  resolution?: number;
}

/** A collection deriving from the job's collection, as its definition was when the job read it. */
export interface DerivedCollectionPlan {
  collection: string;
  definitionVersion: number;
  derivation: Derivation;
}

/** Input of `deriveProducts`: one derived collection, the source items one job published. */
export interface DeriveProductsInput {
  /** The job that published the source items. */
  jobId: string;
  source: SourceBlob;
  /** Where the source items' COGs are (read from the `cogs` container by these names, never by an item's URL). */
  sourceOutputs: OutputLocation;
  order: VersionOrder;
  items: Array<Pick<RegisteredItem, 'itemId' | 'itemUrl' | 'window'>>;
  target: DerivedCollectionPlan;
  /** ISO timestamp from the job's orchestration clock. */
  datetime: string;
  /** The collections this derivation descends from, the job's first (absent: just the source's): a chain never runs a collection twice. */
  chain?: string[];
}

export interface CreateDerivedItemInput {
  source: SourceBlob;
  sourceOutputs: OutputLocation;
  sourceItem: Pick<RegisteredItem, 'itemId' | 'itemUrl' | 'window'>;
  /** The derived collection's outputs for this source (`deriveDerivedOutputs`). */
  outputs: OutputLocation;
  derivation: Derivation;
  datetime: string;
  order: VersionOrder;
}

/** How one derived collection's products of one job ended: data in the job's status and output, never the job's failure. */
export interface DerivedOutcome {
  collection: string;
  product: DerivedProduct;
  /** The `deriveProducts` instance. */
  instanceId: string;
  status: 'completed' | 'failed';
  /** Derived items published. */
  items: number;
  /** The first failures (per source item, `itemId` naming it), with `retryable` as a retry would fare; `failureCount` counts all. */
  failures: Array<JobFailure & { retryable: boolean }>;
  failureCount: number;
  /** `deriveProducts`' own output only: the outcomes of the collections deriving from this one (the job's list has them flattened after it). */
  downstream?: DerivedOutcome[];
}

/** A sub-orchestration's result is JSON: check its shape before a job or its view shows it. */
export function isDerivedOutcome(value: unknown): value is DerivedOutcome {
  return typeof value === 'object' && value !== null && 'collection' in value && typeof value.collection === 'string' && 'status' in value && (value.status === 'completed' || value.status === 'failed') && 'failures' in value && Array.isArray(value.failures);
}

export interface RemoveDerivedProductsInput {
  sourceCollection: string;
  /** The removed source's key in its collection (derived collections keep the same key). */
  sourceKey: string;
  /** The source items removed, whose derived items go; absent: the whole source (every derived item of it). */
  sourceItemIds?: string[];
}

export interface RemovedDerivedProducts {
  collections: Array<{ collection: string; items: number; blobs: number }>;
}

/** Input of `removeSource`: the deleted blob, and which deletion (one orchestration per deletion of a blob). */
export interface SourceRemovalInput {
  source: { container: string; name: string };
  deletion: {
    /** The Event Grid event's id (a redelivery keeps it). */
    eventId: string;
    /** When storage says the blob was deleted (ISO 8601). */
    eventTime: string;
    /** Storage's order of the operations on one blob, as the event gave it. */
    sequencer: string;
  };
}

/** One collection's outputs of a deleted source: what it publishes (if anything) and the version folders it holds. */
export interface SourceOutputsInCollection {
  collection: string;
  sourceKey: string;
  /** The version the collection publishes, or `null` (only unpublished outputs: a failed or refused job's). */
  published: { version: string; etag: string; jobId: string | null } | null;
  /** Every version folder of the source in `cogs` (published, replaced in its grace period, or never published). */
  versions: string[];
}

export type SourceOutputsFound =
  /** The blob exists: a delete event for a live blob removes nothing (a forged or stale event, or a new upload after the delete). */
  | { outcome: 'source-present'; etag: string }
  | { outcome: 'gone'; collections: SourceOutputsInCollection[] };

export interface RemoveSourceOutputsInput {
  source: { container: string; name: string };
  outputs: SourceOutputsInCollection;
  /** The removal's instance id and deletion time: the removed jobs' views name them. */
  removal: { instanceId: string; eventTime: string };
}

export interface RemovedSourceOutputs {
  collection: string;
  sourceKey: string;
  /** Whether the collection published the source until now (its catalogs and extent changed). */
  unpublished: boolean;
  items: number;
  blobs: number;
}

export interface SourceRemovalOutput {
  source: string;
  outcome: 'removed' | 'source-present' | 'not-ingested';
  collections: RemovedSourceOutputs[];
  /** Jobs of the source that were still running when the removal started, waited for (their publication is refused). */
  waitedFor?: string[];
}

/** A job's source against its collection's gates, after its tiles are made and before anything is published. */
export interface CheckQualityGatesInput {
  gates: QualityGates;
  info: Pick<RasterInfo, 'bands' | 'crs' | 'crsAssumed'>;
  sizeBytes: number;
  collection: string;
  items: Array<Pick<RegisteredItem, 'itemId' | 'bbox' | 'window'>>;
}

/** What a quarantined job keeps unpublished: its COGs, thumbnails and item blobs (a rejection deletes them). */
export interface DeleteQuarantinedOutputsInput {
  outputs: OutputLocation;
  itemIds: string[];
}

/** Events to deliver, and whose webhooks receive them (the definition version the job ran). */
export interface PublishEventsInput {
  events: CloudEvent[];
  collection: string;
  definitionVersion: number | null;
}

/** Why a job was quarantined: each gate it failed, and the definition version that held the gates. */
export interface JobQuarantine {
  violations: GateViolation[];
  definitionVersion: number;
}

/** Input of `resolveQuarantine`: the quarantined job, the operator's decision, and what it kept. */
export interface ResolveQuarantineInput {
  jobId: string;
  decision: 'approve' | 'reject';
  collection: string;
  publication: SourcePublication;
  /** The quarantined job's row in the jobs index, updated with the outcome. */
  index: { key: string };
  /** The definition version the job ran: its webhooks hear the decision. */
  definitionVersion?: number;
}

export interface ResolveQuarantineOutput {
  jobId: string;
  decision: 'approve' | 'reject';
  /** Approved: the collection the outputs were published in. */
  collection?: FinalizedCollection;
  /** Rejected: blobs deleted. */
  deleted?: number;
  /** Approved (1.6 on): how the products of the collections deriving from the job's ended; absent when none derive from it. */
  derived?: DerivedOutcome[];
}

/** Shown in `customStatus` and by `GET /api/jobs/{id}`. */
export interface IngestProgress {
  /** `<container>/<blob>`: in the status itself, because instance lists omit inputs. */
  source: string;
  collection: string;
  stage: 'validating' | 'creating-cogs' | 'finalizing' | 'deriving' | 'completed' | 'failed' | 'quarantined';
  /** Where the tiles are made, once validation has sized the raster. */
  route?: TileRoute;
  /** Why the route is what it is (size against the threshold, or the job's option). */
  routeReason?: string;
  /** How the tiles are laid out, once known. */
  layout?: TileLayout;
  tilesDone: number;
  tilesFailed: number;
  tilesTotal: number;
  itemsRegistered: number;
  /** The first failures (custom status is capped at 16 KB); `errorCount` says how many there were. */
  errors: JobFailure[];
  errorCount: number;
  /** Every distinct code among all failures (not only the first ones shown). Absent in histories recorded before it existed. */
  errorCodes?: FailureCode[];
  attempt: number;
  previousAttempt?: string;
  /** Tiles taken from the previous attempt (a retry), not made again. */
  tilesReused?: number;
  /** The grid the tiles were cut from (the tile ledger plans every tile from it). */
  grid?: { width: number; height: number; tileSize: number; slices?: GridSlices[] };
  /** On the single-tile route, the one tile's progress (fan-out tiles report in their own status). */
  tile?: TileProgress;
  /** Collections deriving from this one (1.6 on): each one's products of this job's items, once they ended (the first few; the output has all). */
  derived?: DerivedOutcome[];
  /** The derived collections could not be read (after retries): no derived product ran for this job. */
  derivedLookupFailure?: Failure;
}

/**
 * The plan of a source of variables, compact enough for the custom status (the tile ledger plans
 * every tile from it): variables of one grid and step count share an entry.
 */
export interface GridSlices {
  /** `RasterVariable.key` of each variable, in plan order. */
  keys: string[];
  width: number;
  height: number;
  steps: number;
  stepLabel: 't' | 'b' | null;
}

/** How long a tile waited and worked, over all its steps and attempts that reported so far. */
export interface TileTiming {
  /** When its work first started (the activity's or the worker's clock); absent while it has only waited. */
  startedAt?: string;
  /** Milliseconds between asking for a slot (or sending the tile to the worker) and the work starting, summed. */
  waitMs: number;
  /** Milliseconds of work as the activity or the worker measured it, summed. */
  workMs: number;
}

/** What a tile's branch says about itself while it runs (its custom status), for the tile ledger. */
export interface TileProgress {
  itemId: string;
  stage: 'creating-cog' | 'queued' | 'running' | 'registering' | 'registered' | 'failed';
  route: TileRoute;
  /** Set when a tile that failed on Functions (out of memory, disk full) was sent to the worker. */
  reroutedBecause?: string;
  /** Attempts of the current step so far, counting the one running. */
  attempts: number;
  /** On the worker route from version 1.4: the tile's place in line for a dispatch permit (0: next), while it waits its turn. */
  inLine?: number;
  /** When the branch started (orchestration clock): it asked for its first slot or sent the tile to the worker. */
  startedAt: string;
  endedAt?: string;
  /**
   * Waiting told apart from working, when the branch can (the worker route; the Functions route
   * from version 1.3 on, where the activity says when it started). Absent in older branches:
   * their `startedAt`→`endedAt` holds both.
   */
  timing?: TileTiming;
  error?: Failure;
  /** The registered item, once the tile is done. */
  item?: RegisteredItem;
}

export interface IngestOutput {
  /** `null` for a job of a batch: the batch finalizes the collection once per chunk (see `publication`). */
  collection: FinalizedCollection | null;
  /** What the job publishes, when its batch finalizes it (or, quarantined, what an approval publishes). */
  publication?: SourcePublication;
  /** Set when a quality gate stopped the job before publishing: its outputs are kept unpublished until an operator decides. */
  quarantine?: JobQuarantine;
  tiles: Array<{ itemId: string; cogUrl: string; itemUrl: string; cogBytes: number }>;
  bytesIn: number;
  bytesOut: number;
  /** Collections deriving from this one (1.6 on) and how their products ended; absent when none derive from it. */
  derived?: DerivedOutcome[];
}

/** What a batch ingests: every blob under a prefix, or the sources a manifest blob lists. */
export type BatchSelection =
  | { kind: 'prefix'; container: string; prefix: string }
  | { kind: 'manifest'; container: string; name: string; etag: string };

export interface BatchFilters {
  /** A glob on blob names (src/batches/glob.ts, evaluated by RE2), e.g. `**\/*.tif`. */
  include?: string;
  /** Only blobs modified at or after this time (ISO 8601). */
  since?: string;
  /** At most this many sources. */
  limit?: number;
}

/** Counts a batch keeps across its chunks (and its `continueAsNew`s). */
export interface BatchCounts {
  /** Sources found (after filters). */
  total: number;
  done: number;
  failed: number;
  /** Already ingested with the same blob version and options. */
  skipped: number;
  /** Manifest entries that name no blob (or one outside the allowed containers). */
  missing: number;
}

export interface BatchInput {
  batchId: string;
  selection: BatchSelection;
  collection: string;
  options: IngestOptions;
  tileSize: number;
  filters: BatchFilters;
  /** Sources ingested at once. */
  window: number;
  /** Sources per chunk: listed, ingested and finalized together, then the batch continues as new. */
  chunkSize: number;
  /** A scheduled batch that finds nothing new completes with nothing done, rather than failing. */
  allowEmpty?: boolean;
  worker: WorkerRouting;
  attempt: number;
  previousAttempt?: string;
  /** Carried from chunk to chunk; absent on the first. */
  carry?: BatchCarry;
}

export interface BatchCarry {
  cursor: string | null;
  chunk: number;
  counts: BatchCounts;
  /** The first failures and missing entries, for the batch view (bounded). */
  failures: Array<JobFailure & { source: string; jobId?: string }>;
  missing: string[];
  startedAt: string;
}

export interface ListBatchSourcesInput {
  selection: BatchSelection;
  filters: BatchFilters;
  /** Where the previous page ended (`null` on the first page). */
  cursor: string | null;
  pageSize: number;
  /** Sources taken so far, for `filters.limit`. */
  taken: number;
}

export interface BatchSourcePage {
  sources: SourceBlob[];
  /** Manifest entries that name no readable blob, with why. */
  missing: Array<{ entry: string; reason: string }>;
  cursor: string | null;
}

export interface PrepareBatchJobsInput {
  batchId: string;
  chunk: number;
  sources: SourceBlob[];
  collection: string;
  options: IngestOptions;
  tileSize: number;
  worker: WorkerRouting;
}

/**
 * One source of a chunk: its job's id and input, or why it is skipped, or the job that exists
 * already for its upload, collection and options (started by the upload trigger, a submission or
 * another batch): the batch does not start a second one.
 */
export type PreparedBatchJob =
  | { kind: 'run'; source: string; instanceId: string; input: IngestInput }
  | { kind: 'skip'; source: string; reason: string }
  | { kind: 'existing'; source: string; instanceId: string; status: string; failure?: Failure };

/** Shown in a batch's `customStatus` and by `GET /api/batches/{id}`. */
export interface BatchProgress {
  stage: 'listing' | 'ingesting' | 'finalizing' | 'completed' | 'failed';
  collection: string;
  selection: string;
  chunk: number;
  counts: BatchCounts;
  /** Sources being ingested right now. */
  running: number;
  failures: BatchCarry['failures'];
  missing: string[];
  startedAt: string;
  attempt: number;
  previousAttempt?: string;
  /** Why the batch failed, when it did. */
  reason?: string;
}

export interface BatchOutput {
  collection: string;
  counts: BatchCounts;
  chunks: number;
  /**
   * The collection mosaic after the last chunk (absent when nothing was ingested): the
   * `collectionMosaic` run asked to build it (version 1.2 on), or, for 1.1 batches, what was built
   * or why it failed.
   */
  mosaic?: { requested: string } | { mosaics: string[]; overview?: string; skipped: number } | { error: string };
}
