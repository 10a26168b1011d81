/**
 * A collection's workflow as a graph (issue 24.6), built from its definition, the collections that
 * derive from it, its schedules and its jobs: source rules → validation → route → tiles (COG) →
 * quality gates → STAC → events and derived collections, in the order the ingest orchestrator runs
 * them; an upstream collection and its derivation when the collection is derived; schedules with
 * "after" edges from what they wait on. Pure: no DOM, no clock (the caller passes `nowMs`), so it
 * is unit tested as data.
 *
 * Everything in a definition is untrusted text: labels go through `displayText` (bidirectional
 * controls made visible, length bounded) and are rendered by Preact as text, never as markup.
 * Long lists are bounded too: past a cap, the rest of the sources or derived collections fold
 * into one "+N more" node, so a definition cannot make the drawing grow without limit.
 */
import type { CollectionDefinition, CollectionView, JobView, ScheduleView } from '../src/api/contract.js';
import { describeGates } from './collection.format.js';

export type DagNodeKind =
  | 'source'
  | 'more-sources'
  | 'upstream'
  | 'derive'
  | 'validate'
  | 'gates'
  | 'route'
  | 'tiles'
  | 'stac'
  | 'events'
  | 'derived'
  | 'more-derived'
  | 'schedule'
  | 'after-collection'
  | 'after-batch'
  | 'after-more';

export interface DagNode {
  id: string;
  kind: DagNodeKind;
  /** The node's heading, bounded. */
  title: string;
  /** Detail lines under the heading, each bounded; at most `maxNodeLines`. */
  lines: string[];
  /** Everything the node stands for, bounded, for its tooltip, its accessible name and the details panel. */
  description: string;
  /** A dashboard link (another collection's page). */
  href?: string;
  /** `after-more`: the names folded into it. */
  waits?: string[];
}

export type DagEdgeKind = 'flow' | 'after' | 'derive' | 'trigger';

export interface DagEdge {
  from: string;
  to: string;
  kind: DagEdgeKind;
  label?: string;
}

export interface DagGraph {
  nodes: DagNode[];
  edges: DagEdge[];
}

/** Where a job stands: the node, and what it is doing there, in words. */
export type JobPlaceState = 'queued' | 'validating' | 'tiles' | 'registering' | 'done' | 'quarantined' | 'rejected' | 'failed';

export interface JobPlace {
  job: JobView;
  nodeId: string;
  state: JobPlaceState;
  /** E.g. `tiles 3/8`, `quarantined`, `done`. */
  label: string;
}

export interface DagInput {
  collection: CollectionView;
  /** Every collection with a definition (`GET /api/collections`), to find those derived from this one. */
  collections: readonly CollectionView[];
  /** The schedules API's view, or `null` where the service has none yet. */
  scheduleViews: readonly ScheduleView[] | null;
  /** Next runs computed in the page from cron and time zone (by schedule name), used when the API gives none. */
  computedNextRuns?: Readonly<Record<string, string | null>>;
}

/** Caps that keep the drawing bounded whatever a definition holds. */
export const dagLimits = {
  sourceNodes: 8,
  derivedNodes: 8,
  scheduleNodes: 10,
  afterNodes: 10,
  maxNodeLines: 5,
  lineLength: 34,
  titleLength: 30,
  descriptionLength: 800,
} as const;

// Bidirectional embedding, override and isolate controls, marks, and other invisible format characters:
// in a label they could reorder the text around them (an RTL override makes "fdp.exe" read "exe.pdf").
const bidiControls = /[\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
// Control characters never belong in a label (a definition refuses most; a job's source may still carry one).
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Untrusted text made safe to show: bidirectional and control characters become a visible `�`,
 * and text over `max` code points is cut with `…`. Preact sets it as text, so `<`, `"` and `</svg>`
 * stay characters.
 */
export function displayText(text: string, max: number): string {
  const cleaned = text.replace(bidiControls, '\ufffd').replace(controlCharacters, '\ufffd');
  const points = Array.from(cleaned);
  return points.length <= max ? cleaned : `${points.slice(0, Math.max(1, max - 1)).join('')}…`;
}

const line = (text: string): string => displayText(text, dagLimits.lineLength);
const heading = (text: string): string => displayText(text, dagLimits.titleLength);
const describe = (parts: string[]): string => displayText(parts.filter(Boolean).map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('. '), dagLimits.descriptionLength);

function node(id: string, kind: DagNodeKind, title: string, lines: string[], description: string[], href?: string): DagNode {
  const shown = lines.length > dagLimits.maxNodeLines ? [...lines.slice(0, dagLimits.maxNodeLines - 1), `+${lines.length - dagLimits.maxNodeLines + 1} more`] : lines;
  return { id, kind, title: heading(title), lines: shown.map(line), description: describe([title, ...description]), ...(href ? { href } : {}) };
}

const sourceLabel = (rule: { container: string; prefix: string }): string => `${rule.container}/${rule.prefix}`;

/** Node ids. Collection ids are `[a-z0-9._-]`, batch ids `[A-Za-z0-9:._-]`; rule indexes are numbers. */
export const dagIds = {
  source: (index: number) => `source:${index}`,
  moreSources: 'sources:more',
  upstream: 'upstream',
  derive: 'derive',
  validate: 'validate',
  gates: 'gates',
  route: 'route',
  tiles: 'tiles',
  stac: 'stac',
  events: 'events',
  derived: (id: string) => `derived:${id}`,
  moreDerived: 'derived:more',
  schedule: (name: string) => `schedule:${name}`,
  afterCollection: (id: string) => `after-collection:${id}`,
  afterBatch: (id: string) => `after-batch:${id}`,
  moreAfter: 'after:more',
} as const;

function describeOptions(definition: CollectionDefinition): string[] {
  return Object.entries(definition.options).map(([name, value]) => `${name}: ${String(value)}`);
}

function describeDerivation(derivation: NonNullable<CollectionDefinition['derivedFrom']>): string[] {
  const lines: string[] = [derivation.product];
  if (derivation.bands) lines.push(`bands ${derivation.bands[0]}, ${derivation.bands[1]}`);
  if (derivation.targetCrs) lines.push(`to ${derivation.targetCrs}`);
  if (derivation.resolution !== undefined) lines.push(`${derivation.resolution} units a pixel`);
  return lines;
}

function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export function collectionHref(id: string): string {
  return `#/collections/${encodeURIComponent(id)}`;
}

/** The graph of one collection's workflow. */
export function buildDag(input: DagInput): DagGraph {
  const { collection } = input;
  const definition = collection.definition;
  const nodes: DagNode[] = [];
  const edges: DagEdge[] = [];
  const byId = new Map<string, DagNode>();
  const add = (added: DagNode): DagNode => {
    const existing = byId.get(added.id);
    if (existing) return existing;
    byId.set(added.id, added);
    nodes.push(added);
    return added;
  };
  const connect = (from: string, to: string, kind: DagEdgeKind, label?: string): void => {
    if (edges.some((edge) => edge.from === from && edge.to === to)) return;
    edges.push({ from, to, kind, ...(label ? { label: displayText(label, dagLimits.lineLength) } : {}) });
  };

  // Uploads reach the collection through its source rules, or by naming it; a derived collection without sources has no upload path.
  const uploadPath = definition.sources.length > 0 || !definition.derivedFrom;
  const sourceNodeIds: string[] = [];
  if (uploadPath) {
    const shown = definition.sources.slice(0, dagLimits.sourceNodes);
    shown.forEach((rule, index) => {
      add(node(dagIds.source(index), 'source', 'Source', [sourceLabel(rule)], [`uploads under ${sourceLabel(rule)}`]));
      sourceNodeIds.push(dagIds.source(index));
    });
    const rest = definition.sources.slice(dagLimits.sourceNodes);
    if (rest.length) {
      add(node(dagIds.moreSources, 'more-sources', `+${rest.length} more sources`, rest.map(sourceLabel), rest.map((rule) => `uploads under ${sourceLabel(rule)}`)));
      sourceNodeIds.push(dagIds.moreSources);
    }
    if (!definition.sources.length) {
      add(node(dagIds.source(0), 'source', 'Source', ['jobs naming it'], [`jobs submitted with collection ${collection.id}; no upload rule routes here`]));
      sourceNodeIds.push(dagIds.source(0));
    }
    add(node(dagIds.validate, 'validate', 'Validate', ['inspect the source'], ['the source is read and checked before anything is made']));
    const threshold = definition.route.workerThresholdMb;
    add(node(dagIds.route, 'route', 'Route', ['functions or worker', threshold !== undefined ? `worker above ${threshold} MB` : 'threshold: app setting'], ['where the tiles are made: in the functions, or on the container worker for large rasters']));
    for (const id of sourceNodeIds) connect(id, dagIds.validate, 'flow');
    connect(dagIds.validate, dagIds.route, 'flow');
    connect(dagIds.route, dagIds.tiles, 'flow');
  }

  add(node(dagIds.tiles, 'tiles', 'Tiles (COG)', describeOptions(definition).length ? describeOptions(definition) : ['default options'], ['Cloud Optimized GeoTIFFs, one per tile', ...describeOptions(definition)]));
  // The gates are checked where the app checks them: after the tiles are made (nodata is measured
  // on their statistics) and before anything is published (docs/collections.md).
  const gateLines = describeGates(definition.gates);
  const gated = gateLines.length > 0 || uploadPath;
  if (gated) {
    add(
      node(
        dagIds.gates,
        'gates',
        'Quality gates',
        gateLines.length ? gateLines : ['none'],
        gateLines.length ? ['checked after the tiles are made, before publishing; a source failing one is quarantined until an operator approves or rejects it', ...gateLines] : ['no quality gates: every source whose tiles are made is published'],
      ),
    );
  }
  add(node(dagIds.stac, 'stac', 'STAC', [`collection ${collection.id}`], [`items registered in the STAC collection ${collection.id}`]));
  if (gated) {
    connect(dagIds.tiles, dagIds.gates, 'flow');
    connect(dagIds.gates, dagIds.stac, 'flow', gateLines.length ? 'passed' : undefined);
  } else connect(dagIds.tiles, dagIds.stac, 'flow');

  if (definition.derivedFrom) {
    const derivation = definition.derivedFrom;
    add(node(dagIds.upstream, 'upstream', 'Upstream collection', [derivation.collection], [`each newly published item of ${derivation.collection} starts the derived step`], collectionHref(derivation.collection)));
    add(node(dagIds.derive, 'derive', 'Derive', describeDerivation(derivation), [`derived product: ${describeDerivation(derivation).join(', ')}`]));
    connect(dagIds.upstream, dagIds.derive, 'derive', 'new items');
    connect(dagIds.derive, dagIds.tiles, 'flow');
  }

  const webhooks = definition.notifications.webhooks;
  add(
    node(
      dagIds.events,
      'events',
      'Events',
      webhooks.length ? webhooks.map((webhook) => webhookOrigin(webhook.url)) : ['no webhooks'],
      ['job, batch and quarantine transitions as CloudEvents', ...webhooks.map((webhook) => `${webhook.url}: ${webhook.events?.join(', ') ?? 'every event'}`)],
    ),
  );
  // Quarantine and failure events leave from earlier steps too; one edge from STAC keeps the drawing free of edges across the columns.
  connect(dagIds.stac, dagIds.events, 'flow');

  const derivedCollections = input.collections
    .filter((other) => other.definition.derivedFrom?.collection === collection.id && other.id !== collection.id)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const derived of derivedCollections.slice(0, dagLimits.derivedNodes)) {
    const product = derived.definition.derivedFrom!.product;
    add(node(dagIds.derived(derived.id), 'derived', 'Derived collection', [derived.id, product], [`${product} of each newly published item`, derived.definition.title ?? ''], collectionHref(derived.id)));
    connect(dagIds.stac, dagIds.derived(derived.id), 'derive', product);
  }
  const moreDerived = derivedCollections.slice(dagLimits.derivedNodes);
  if (moreDerived.length) {
    add(node(dagIds.moreDerived, 'more-derived', `+${moreDerived.length} more derived`, moreDerived.map((derived) => derived.id), moreDerived.map((derived) => derived.id)));
    connect(dagIds.stac, dagIds.moreDerived, 'derive');
  }

  let afterNodeCount = 0;
  const views = new Map((input.scheduleViews ?? []).map((view) => [view.name, view]));
  for (const schedule of definition.schedules.slice(0, dagLimits.scheduleNodes)) {
    const view = views.get(schedule.name);
    const next = view?.nextRun ?? input.computedNextRuns?.[schedule.name] ?? null;
    const lines = [`${schedule.cron} (${schedule.timeZone})`, `next run: ${next ? formatRunTime(next) : '—'}`, `last run: ${view?.lastRun ? formatRunTime(view.lastRun.at) : '—'}`];
    if (view?.lastRun) lines.push(`outcome: ${view.lastRun.outcome}${view.lastRun.batchId ? `, batch ${view.lastRun.batchId}` : ''}`);
    if (view?.missedTotal) lines.push(`missed: ${view.missedTotal} window${view.missedTotal === 1 ? '' : 's'}`);
    else if (view?.waitingFor.length) lines.push(`waiting for ${view.waitingFor.join(', ')}`);
    const details = [
      `cron ${schedule.cron} in ${schedule.timeZone}`,
      schedule.after.length ? `runs only after ${schedule.after.map((after) => ('collection' in after ? `collection ${after.collection}` : `batch ${after.batch}`)).join(', ')} completed since its last run` : '',
      schedule.source ? `takes what arrived under ${schedule.source}` : '',
      ...(view?.missed ?? []).map((missed) => `missed ${missed.window}: ${missed.reason === 'after' ? `still waiting for ${missed.waitingFor.join(', ')}` : 'nothing ran (the service was down)'}`),
      view?.waitingFor.length ? `waiting for ${view.waitingFor.join(', ')}` : '',
      view?.lastRun ? `last run ${view.lastRun.at}: ${view.lastRun.outcome}${view.lastRun.batchId ? ` (batch ${view.lastRun.batchId})` : ''}` : '',
    ];
    const scheduleId = dagIds.schedule(schedule.name);
    add(node(scheduleId, 'schedule', `Schedule ${schedule.name}`, lines, details));
    const target = uploadPath ? scheduleTarget(definition, schedule.source, sourceNodeIds) : dagIds.tiles;
    connect(scheduleId, target, 'trigger', 'starts a batch');
    for (const after of schedule.after) {
      const named = 'collection' in after ? after.collection : after.batch;
      const knownHere = 'collection' in after && (after.collection === collection.id || after.collection === definition.derivedFrom?.collection || byId.has(dagIds.derived(after.collection)));
      const nodeId = 'collection' in after ? dagIds.afterCollection(after.collection) : dagIds.afterBatch(after.batch);
      if (!knownHere && !byId.has(nodeId) && afterNodeCount >= dagLimits.afterNodes) {
        // Past the cap, what schedules wait on folds into one node (the schedule's own details still name each).
        const more = add(node(dagIds.moreAfter, 'after-more', 'More to wait on', [], []));
        more.waits = [...(more.waits ?? []), named];
        more.title = heading(`+${more.waits.length} more to wait on`);
        more.lines = more.waits.slice(0, dagLimits.maxNodeLines).map(line);
        more.description = describe([`schedules also wait on ${more.waits.join(', ')}`]);
        connect(dagIds.moreAfter, scheduleId, 'after', 'after');
        continue;
      }
      if (!knownHere && !byId.has(nodeId)) afterNodeCount += 1;
      if ('collection' in after) {
        const fromId = after.collection === collection.id ? dagIds.stac : after.collection === definition.derivedFrom?.collection ? dagIds.upstream : byId.has(dagIds.derived(after.collection)) ? dagIds.derived(after.collection) : dagIds.afterCollection(after.collection);
        if (fromId === dagIds.afterCollection(after.collection)) add(node(fromId, 'after-collection', 'Collection', [after.collection], [`the jobs of ${after.collection}`], collectionHref(after.collection)));
        connect(fromId, scheduleId, 'after', 'after');
      } else {
        const fromId = dagIds.afterBatch(after.batch);
        add(node(fromId, 'after-batch', 'Batch', [after.batch], [`batch ${after.batch}`]));
        connect(fromId, scheduleId, 'after', 'after');
      }
    }
  }
  return { nodes, edges };
}

/** The source node a schedule's batch reads: the rule its `source` falls under (the longest), else one under it, else the first. */
function scheduleTarget(definition: CollectionDefinition, source: string | undefined, sourceNodeIds: string[]): string {
  if (source) {
    const under = longestRuleFor(definition, source);
    const index = under >= 0 ? under : definition.sources.findIndex((rule) => sourceLabel(rule).startsWith(source));
    if (index >= 0) return index < dagLimits.sourceNodes ? dagIds.source(index) : dagIds.moreSources;
  }
  return sourceNodeIds[0] ?? dagIds.validate;
}

/** The index of the rule with the longest prefix `path` starts with, or -1. */
function longestRuleFor(definition: CollectionDefinition, path: string): number {
  let best = -1;
  definition.sources.forEach((rule, index) => {
    if (path.startsWith(sourceLabel(rule)) && (best < 0 || sourceLabel(rule).length > sourceLabel(definition.sources[best]!).length)) best = index;
  });
  return best;
}

/** `2026-12-06 03:00 UTC` from an ISO time (UTC, so it reads the same for everyone); the raw text, bounded, when it is not one. */
export function formatRunTime(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return displayText(iso, 24);
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Jobs that finished longer ago than this are no longer "current" on the graph. */
export const recentFinishedMs = 24 * 60 * 60 * 1000;

/**
 * Where each current job of the collection stands: queued at its source rule, validating, making
 * tiles (n/m), finalizing (its gates, then STAC: the job view does not tell the two apart, so it
 * shows on STAC as registering), held by a gate (quarantined, awaiting a decision), and done or
 * failed where it ended when that was within `recentFinishedMs` of `nowMs`. A job whose ending is
 * older is left off; a quarantined job awaiting its decision stays.
 */
export function placeJobs(graph: DagGraph, definition: CollectionDefinition, jobs: readonly JobView[], nowMs: number): JobPlace[] {
  const has = new Set(graph.nodes.map((graphNode) => graphNode.id));
  const entry = has.has(dagIds.validate) ? dagIds.validate : dagIds.tiles;
  const places: JobPlace[] = [];
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.id)) continue;
    seen.add(job.id);
    const place = placeJob(job, definition, has, entry);
    const awaitingDecision = place.state === 'quarantined' && !job.quarantine?.decision;
    const finished = place.state === 'done' || place.state === 'failed' || place.state === 'rejected' || (place.state === 'quarantined' && !awaitingDecision);
    if (finished) {
      const updated = Date.parse(job.lastUpdatedTime);
      if (Number.isNaN(updated) || nowMs - updated > recentFinishedMs) continue;
    }
    places.push(place);
  }
  return places;
}

function placeJob(job: JobView, definition: CollectionDefinition, has: ReadonlySet<string>, entry: string): JobPlace {
  const at = (nodeId: string, state: JobPlaceState, label: string = state): JobPlace => ({ job, nodeId: has.has(nodeId) ? nodeId : entry, state, label });
  const gatesOrEntry = has.has(dagIds.gates) ? dagIds.gates : entry;
  switch (job.stage) {
    case 'pending':
      return at(sourceNodeOf(job, definition, has) ?? entry, 'queued');
    case 'validating':
      return at(entry, 'validating');
    case 'creating-cogs':
      return at(dagIds.tiles, 'tiles', `tiles ${job.tiles.done}/${job.tiles.total}`);
    case 'finalizing':
      return at(dagIds.stac, 'registering');
    case 'deriving':
      // Its items are published; the collections deriving from this one are making their products.
      return at(dagIds.stac, 'registering', 'deriving products');
    case 'completed':
      return at(dagIds.stac, 'done');
    case 'quarantined':
      return at(gatesOrEntry, 'quarantined');
    case 'rejected':
      return at(gatesOrEntry, 'rejected');
    case 'failed':
    default:
      // Where it stopped: before any tile was planned, while making them, or after all were made.
      if (job.tiles.total === 0) return at(entry, 'failed');
      if (job.tiles.done < job.tiles.total) return at(dagIds.tiles, 'failed', `failed, tiles ${job.tiles.done}/${job.tiles.total}`);
      return at(dagIds.stac, 'failed');
  }
}

/** The source rule node a job's source falls under (the longest matching prefix). */
function sourceNodeOf(job: JobView, definition: CollectionDefinition, has: ReadonlySet<string>): string | undefined {
  if (!job.source) return undefined;
  const best = longestRuleFor(definition, job.source);
  if (best < 0) return has.has(dagIds.source(0)) && !definition.sources.length ? dagIds.source(0) : undefined;
  return best < dagLimits.sourceNodes ? dagIds.source(best) : dagIds.moreSources;
}

/** The badge of a node: `2 validating · 1 done`, by state in pipeline order; tiles summed as n/m. */
export function badgeText(places: readonly JobPlace[]): string {
  const order: JobPlaceState[] = ['queued', 'validating', 'tiles', 'registering', 'done', 'quarantined', 'rejected', 'failed'];
  const parts: string[] = [];
  for (const state of order) {
    const here = places.filter((place) => place.state === state);
    if (!here.length) continue;
    if (state === 'tiles') {
      const done = here.reduce((sum, place) => sum + place.job.tiles.done, 0);
      const total = here.reduce((sum, place) => sum + place.job.tiles.total, 0);
      parts.push(`${here.length} making tiles ${done}/${total}`);
    } else parts.push(`${here.length} ${state}`);
  }
  return parts.join(' · ');
}
