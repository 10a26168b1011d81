/**
 * The dashboard's workflow graph (issue 24.6) as data: what the builder makes of a definition, the
 * collections derived from it and its schedules; where each job stands; the layered layout
 * (columns in pipeline order, no overlaps, deterministic, bounded, cycles drawn rather than
 * looping); hostile definitions (test/support/hostile.collections.ts) kept as bounded text.
 */
import { describe, expect, it } from 'vitest';
import { collectionDefinitionSchema, collectionSchedulesSchema, type CollectionDefinition, type CollectionView, type JobView, type ScheduleView } from '../../src/api/contract.js';
import { validateDefinition } from '../../src/collections/definition.validate.js';
import { badgeText, buildDag, dagIds, dagLimits, displayText, placeJobs, type DagGraph } from '../../web/dag.graph.js';
import { dagMetrics, layoutDag } from '../../web/dag.layout.js';
import { computeNextRuns } from '../../web/schedule.next.js';
import { hostileDisplayDefinitions, hostileWebhookPolicy } from '../support/hostile.collections.js';

const now = Date.parse('2026-12-06T09:00:00Z');

function collection(id: string, raw: Record<string, unknown>): CollectionView {
  return { id, version: 1, updatedTime: '2026-12-06T08:00:00Z', definition: collectionDefinitionSchema.parse(raw), jobs: `/api/jobs?collection=${id}` };
}

function job(id: string, fields: Partial<JobView>): JobView {
  return {
    id, status: 'Running', stage: 'pending', route: null, routeReason: null, layout: null, source: 'uploads/dem/a.tif', collection: 'dem', batch: null, definitionVersion: 1,
    tiles: { done: 0, failed: 0, total: 0 }, itemsRegistered: 0, errors: [], errorCount: 0, attempt: 1, previousAttempt: null, retry: { offered: false, reason: null },
    quarantine: null, derived: [], superseded: null, output: null, createdTime: '2026-12-06T08:59:00Z', lastUpdatedTime: '2026-12-06T08:59:30Z', ...fields,
  };
}

const dem = collection('dem', {
  title: 'Elevation',
  sources: [{ container: 'uploads', prefix: 'dem/' }, { container: 'uploads', prefix: 'dem/lidar/' }],
  gates: { maxNodataShare: 0.25, crs: { family: 'projected' } },
  route: { workerThresholdMb: 512 },
  schedules: [{ name: 'nightly', cron: '0 3 * * 1-5', timeZone: 'Europe/Berlin', after: [{ collection: 'landcover' }, { batch: 'weekly-import' }] }],
  notifications: { webhooks: [{ url: 'https://hooks.example.com/raster?token=x', events: ['job.completed'] }] },
});
const hillshade = collection('dem-hillshade', { derivedFrom: { collection: 'dem', product: 'hillshade' } });
const slope = collection('dem-slope', { derivedFrom: { collection: 'dem', product: 'slope' } });
const landcover = collection('landcover', { sources: [{ container: 'uploads', prefix: 'landcover/' }] });
const all = [dem, hillshade, slope, landcover];

const edgeList = (graph: DagGraph): string[] => graph.edges.map((edge) => `${edge.from} -> ${edge.to}${edge.label ? ` [${edge.label}]` : ''}`);

/** A schedule as `GET /api/collections/{id}/schedules` reports it (src/api/contract.ts, `ScheduleView`). */
const nightlyView: ScheduleView = {
  name: 'nightly',
  instanceId: 'schedule:dem:nightly',
  cron: '0 3 * * 1-5',
  timeZone: 'Europe/Berlin',
  source: 'uploads/dem/',
  after: [{ collection: 'landcover' }],
  state: 'waiting',
  runtimeStatus: 'Running',
  definitionVersion: 3,
  instanceVersion: 3,
  nextRun: '2026-12-08T02:00:00Z',
  pendingWindow: '2026-12-07T02:00:00Z',
  waitingFor: ['collection:landcover'],
  lastRun: { window: '2026-12-05T02:00:00Z', at: '2026-12-05T02:00:00Z', batchId: 'b1', outcome: 'started', version: 3 },
  missed: [{ window: '2026-12-04T02:00:00Z', reason: 'after', waitingFor: ['collection:landcover'], recordedAt: '2026-12-05T02:00:00Z' }],
  missedTotal: 1,
  checkedAt: '2026-12-07T02:01:00Z',
};

describe('workflow graph builder', () => {
  it('draws sources → validate → route → tiles → gates → STAC → events and derived collections (the orchestrator\'s order), with the schedule and what it waits on', () => {
    const graph = buildDag({ collection: dem, collections: all, scheduleViews: null, computedNextRuns: { nightly: '2026-12-07T02:00:00.000Z' } });
    expect(graph.nodes.map((node) => node.id)).toEqual([
      'source:0', 'source:1', 'validate', 'route', 'tiles', 'gates', 'stac', 'events', 'derived:dem-hillshade', 'derived:dem-slope', 'schedule:nightly', 'after-collection:landcover', 'after-batch:weekly-import',
    ]);
    expect(edgeList(graph)).toEqual([
      'source:0 -> validate', 'source:1 -> validate', 'validate -> route', 'route -> tiles', 'tiles -> gates', 'gates -> stac [passed]', 'stac -> events',
      'stac -> derived:dem-hillshade [hillshade]', 'stac -> derived:dem-slope [slope]', 'schedule:nightly -> source:0 [starts a batch]',
      'after-collection:landcover -> schedule:nightly [after]', 'after-batch:weekly-import -> schedule:nightly [after]',
    ]);
    const byId = new Map(graph.nodes.map((node) => [node.id, node]));
    expect(byId.get('source:1')!.lines).toEqual(['uploads/dem/lidar/']);
    expect(byId.get('gates')!.lines).toEqual(['nodata at most 25%', 'CRS projected']);
    expect(byId.get('route')!.lines).toContain('worker above 512 MB');
    // A webhook shows its origin only: its path and query may carry a secret.
    expect(byId.get('events')!.lines).toEqual(['https://hooks.example.com']);
    expect(byId.get('derived:dem-slope')!.href).toBe('#/collections/dem-slope');
    expect(byId.get('schedule:nightly')!.lines).toEqual(['0 3 * * 1-5 (Europe/Berlin)', 'next run: 2026-12-07 02:00 UTC', 'last run: —']);
  });

  it('takes next and last runs, missed windows and waits from the schedules API over the computed next run', () => {
    const graph = buildDag({
      collection: dem,
      collections: all,
      scheduleViews: [nightlyView],
      computedNextRuns: { nightly: '2026-12-07T02:00:00.000Z' },
    });
    const schedule = graph.nodes.find((node) => node.id === 'schedule:nightly')!;
    expect(schedule.lines).toEqual(['0 3 * * 1-5 (Europe/Berlin)', 'next run: 2026-12-08 02:00 UTC', 'last run: 2026-12-05 02:00 UTC', 'outcome: started, batch b1', 'missed: 1 window']);
    expect(schedule.description).toContain('Missed 2026-12-04T02:00:00Z: still waiting for collection:landcover');
    expect(schedule.description).toContain('Waiting for collection:landcover');
  });

  it('shows "next run: —" when neither the API nor the page knows it', () => {
    const graph = buildDag({ collection: dem, collections: all, scheduleViews: null });
    expect(graph.nodes.find((node) => node.id === 'schedule:nightly')!.lines[1]).toBe('next run: —');
  });

  it('draws a derived collection from its upstream through its derivation, with no upload path when it has no sources', () => {
    const graph = buildDag({ collection: hillshade, collections: all, scheduleViews: null });
    expect(graph.nodes.map((node) => node.id)).toEqual(['tiles', 'stac', 'upstream', 'derive', 'events']);
    expect(edgeList(graph)).toEqual(['tiles -> stac', 'upstream -> derive [new items]', 'derive -> tiles', 'stac -> events']);
    // With gates of its own, they stand between its tiles and STAC.
    const gatedDerived = collection('dem-hillshade', { ...hillshade.definition, gates: { maxBytes: 1000 } });
    expect(edgeList(buildDag({ collection: gatedDerived, collections: all, scheduleViews: null }))).toEqual(['tiles -> gates', 'gates -> stac [passed]', 'upstream -> derive [new items]', 'derive -> tiles', 'stac -> events']);
    expect(graph.nodes.find((node) => node.id === 'upstream')).toMatchObject({ lines: ['dem'], href: '#/collections/dem' });
    expect(graph.nodes.find((node) => node.id === 'derive')!.lines).toEqual(['hillshade']);
  });

  it('gives a collection without sources a node for jobs that name it', () => {
    const graph = buildDag({ collection: collection('plain', {}), collections: [], scheduleViews: null });
    expect(graph.nodes.find((node) => node.id === 'source:0')!.lines).toEqual(['jobs naming it']);
    expect(edgeList(graph)).toContain('source:0 -> validate');
  });

  it('reuses the node of a collection already on the graph for "after", even when that closes a cycle', () => {
    const selfWaiting = collection('dem', { ...dem.definition, schedules: [{ name: 'chained', cron: '0 4 * * *', after: [{ collection: 'dem-slope' }, { collection: 'dem' }] }] });
    const graph = buildDag({ collection: selfWaiting, collections: all, scheduleViews: null });
    expect(edgeList(graph)).toContain('derived:dem-slope -> schedule:chained [after]');
    expect(edgeList(graph)).toContain('stac -> schedule:chained [after]');
    expect(graph.nodes.some((node) => node.kind === 'after-collection')).toBe(false);
  });
});

describe('jobs on the graph', () => {
  const graph = buildDag({ collection: dem, collections: all, scheduleViews: null });

  it('places each job where it stands, in words', () => {
    const places = placeJobs(graph, dem.definition, [
      job('queued', { stage: 'pending', source: 'uploads/dem/lidar/x.laz.tif' }),
      job('validating', { stage: 'validating' }),
      job('tiling', { stage: 'creating-cogs', tiles: { done: 3, failed: 0, total: 8 } }),
      job('registering', { stage: 'finalizing', tiles: { done: 8, failed: 0, total: 8 } }),
      job('deriving', { stage: 'deriving', tiles: { done: 8, failed: 0, total: 8 } }),
      job('done', { stage: 'completed', status: 'Completed' }),
      job('held', { stage: 'quarantined', status: 'Quarantined', lastUpdatedTime: '2026-11-01T00:00:00Z', quarantine: { violations: [], definitionVersion: 1, decision: null } }),
      job('early-failure', { stage: 'failed', status: 'Failed' }),
      job('tile-failure', { stage: 'failed', status: 'Failed', tiles: { done: 2, failed: 1, total: 4 } }),
    ], now);
    expect(places.map((place) => [place.job.id, place.nodeId, place.label])).toEqual([
      // The longest matching rule: dem/lidar/ rather than dem/.
      ['queued', 'source:1', 'queued'],
      ['validating', 'validate', 'validating'],
      ['tiling', 'tiles', 'tiles 3/8'],
      ['registering', 'stac', 'registering'],
      // Published, its derived collections at work (not a failure at STAC).
      ['deriving', 'stac', 'deriving products'],
      ['done', 'stac', 'done'],
      // Awaiting a decision for a month: still current.
      ['held', 'gates', 'quarantined'],
      ['early-failure', 'validate', 'failed'],
      ['tile-failure', 'tiles', 'failed, tiles 2/4'],
    ]);
  });

  it('leaves off jobs that ended more than a day ago, and counts each job once', () => {
    const old = job('old', { stage: 'completed', status: 'Completed', lastUpdatedTime: '2026-12-04T09:00:00Z' });
    const decided = job('decided', { stage: 'quarantined', status: 'Quarantined', lastUpdatedTime: '2026-12-01T09:00:00Z', quarantine: { violations: [], definitionVersion: 1, decision: { decision: 'approve', id: 'd', status: 'Completed' } } });
    const running = job('running', { stage: 'validating' });
    expect(placeJobs(graph, dem.definition, [old, decided, running, running], now).map((place) => place.job.id)).toEqual(['running']);
  });

  it('sums a node\'s jobs into its badge by state, in pipeline order', () => {
    const places = placeJobs(graph, dem.definition, [
      job('a', { stage: 'completed', status: 'Completed' }),
      job('b', { stage: 'creating-cogs', tiles: { done: 1, failed: 0, total: 4 } }),
      job('c', { stage: 'creating-cogs', tiles: { done: 2, failed: 0, total: 2 } }),
      job('d', { stage: 'finalizing' }),
    ], now);
    expect(badgeText(places.filter((place) => place.nodeId === 'tiles'))).toBe('2 making tiles 3/6');
    expect(badgeText(places.filter((place) => place.nodeId === 'stac'))).toBe('1 registering · 1 done');
    expect(badgeText([])).toBe('');
  });

  it('places a derived collection\'s queued job at its tiles step (it has no upload path)', () => {
    const derivedGraph = buildDag({ collection: hillshade, collections: all, scheduleViews: null });
    expect(placeJobs(derivedGraph, hillshade.definition, [job('x', { stage: 'pending', collection: 'dem-hillshade' })], now)[0]!.nodeId).toBe('tiles');
  });
});

describe('workflow graph layout', () => {
  const graph = buildDag({ collection: dem, collections: all, scheduleViews: null });
  const layout = layoutDag(graph);
  const at = new Map(layout.nodes.map((placed) => [placed.node.id, placed]));

  it('puts each step in a column after the one it follows, left to right', () => {
    const column = (id: string): number => at.get(id)!.layer;
    expect(column('after-collection:landcover')).toBe(0);
    expect(column('schedule:nightly')).toBe(1);
    expect([column('source:0'), column('source:1')]).toEqual([2, 2]);
    expect(['validate', 'route', 'tiles', 'gates', 'stac'].map(column)).toEqual([3, 4, 5, 6, 7]);
    expect([column('events'), column('derived:dem-hillshade'), column('derived:dem-slope')]).toEqual([8, 8, 8]);
    for (const edge of layout.edges) expect(edge.back).toBe(false);
  });

  it('keeps every node inside the drawing and apart from the others', () => {
    for (const placed of layout.nodes) {
      expect(placed.x).toBeGreaterThanOrEqual(0);
      expect(placed.y).toBeGreaterThanOrEqual(0);
      expect(placed.x + placed.width).toBeLessThanOrEqual(layout.width);
      expect(placed.y + placed.height).toBeLessThanOrEqual(layout.height);
    }
    for (const a of layout.nodes) {
      for (const b of layout.nodes) {
        if (a === b) continue;
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${a.node.id} overlaps ${b.node.id}`).toBe(true);
      }
    }
  });

  it('gives the same drawing for the same graph', () => {
    expect(layoutDag(buildDag({ collection: dem, collections: all, scheduleViews: null }))).toEqual(layout);
  });

  it('starts each edge at its node\'s right side and ends it at the next one\'s left side', () => {
    const edge = layout.edges.find((found) => found.from === 'gates' && found.to === 'stac')!;
    const gates = at.get('gates')!;
    const stac = at.get('stac')!;
    expect(edge.path.startsWith(`M ${gates.x + gates.width} ${gates.y + gates.height / 2} C`)).toBe(true);
    expect(edge.path.endsWith(`${stac.x} ${stac.y + stac.height / 2}`)).toBe(true);
  });

  it('orders a column by its neighbours, ties in the builder\'s order, and centres it on the tallest', () => {
    expect(layout.nodes.filter((placed) => placed.layer === 8).map((placed) => placed.node.id)).toEqual(['events', 'derived:dem-hillshade', 'derived:dem-slope']);
    // One node in a column: at the middle of the drawing's columns.
    const tiles = at.get('tiles')!;
    expect(Math.abs(tiles.y + tiles.height / 2 - layout.height / 2)).toBeLessThanOrEqual(1);
  });

  it('orders by barycentre: schedules and the source rules they feed line up, so their edges do not cross', () => {
    const crossed = collection('dem', {
      ...dem.definition,
      schedules: [{ name: 'lidar', cron: '0 3 * * *', source: 'uploads/dem/lidar/', after: [] }, { name: 'all', cron: '0 4 * * *', source: 'uploads/dem/', after: [] }],
    });
    const placed = layoutDag(buildDag({ collection: crossed, collections: [], scheduleViews: null }));
    const y = (id: string): number => placed.nodes.find((found) => found.node.id === id)!.y;
    // The two edges do not cross: whichever rule is above, its schedule is above too.
    expect(y('schedule:all') < y('schedule:lidar')).toBe(y('source:0') < y('source:1'));
  });

  it('draws an edge that closes a cycle under the columns instead of looping', () => {
    const selfWaiting = collection('dem', { ...dem.definition, schedules: [{ name: 'chained', cron: '0 4 * * *', after: [{ collection: 'dem-slope' }] }] });
    const cyclic = layoutDag(buildDag({ collection: selfWaiting, collections: all, scheduleViews: null }));
    const back = cyclic.edges.filter((edge) => edge.back);
    expect(back.length).toBe(1);
    // Room under the columns for it.
    expect(cyclic.height).toBe(Math.max(...cyclic.nodes.map((placed) => placed.y + placed.height)) + dagMetrics.margin + dagMetrics.backEdgeRoom);
    expect(layout.height).toBe(Math.max(...layout.nodes.map((placed) => placed.y + placed.height)) + dagMetrics.margin);
  });
});

describe('hostile definitions on the graph', () => {
  const context = { sourceContainers: ['uploads', 'incoming'], webhooks: hostileWebhookPolicy, others: new Map<string, CollectionDefinition>(), now: new Date(now) };
  const bidi = /[\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

  for (const hostile of hostileDisplayDefinitions) {
    it(`${hostile.name}: accepted by the API's validator, then shown as bounded text (${hostile.attack})`, () => {
      const checked = validateDefinition(hostile.id, hostile.definition, context);
      expect(checked.ok, JSON.stringify(checked)).toBe(true);
      const view = collection(hostile.id, hostile.definition);
      const graph = buildDag({ collection: view, collections: [view], scheduleViews: null });
      for (const node of graph.nodes) {
        expect(Array.from(node.title).length).toBeLessThanOrEqual(dagLimits.titleLength);
        expect(node.lines.length).toBeLessThanOrEqual(dagLimits.maxNodeLines);
        for (const text of node.lines) expect(Array.from(text).length).toBeLessThanOrEqual(dagLimits.lineLength);
        expect(Array.from(node.description).length).toBeLessThanOrEqual(dagLimits.descriptionLength);
        expect(bidi.test(node.title + node.lines.join('') + node.description)).toBe(false);
      }
      const shown = graph.nodes.flatMap((node) => [node.title, ...node.lines, node.description]).join('\n');
      for (const text of hostile.shows) expect(shown).toContain(displayText(text, dagLimits.lineLength).replace(/…$/, ''));
      const layout = layoutDag(graph);
      // Every list at its cap still fits a bounded drawing: 10 schedules and 11 nodes they wait on make the tallest columns.
      expect(layout.height).toBeLessThan(1800);
      expect(layout.width).toBeLessThan(12 * (dagMetrics.nodeWidth + dagMetrics.columnGap));
    });
  }

  it('folds 50 sources and 10 schedules waiting on 100 batches into bounded columns', () => {
    // Past the API's own caps (20 sources): the drawing must not depend on them.
    const sources = Array.from({ length: 50 }, (_, index) => ({ container: 'uploads', prefix: `s/${index}/` }));
    const schedules = Array.from({ length: 10 }, (_, index) => ({ name: `s${index}`, cron: '0 3 * * *', timeZone: 'UTC', after: Array.from({ length: 10 }, (__, after) => ({ batch: `b-${index}-${after}` })) }));
    const definition: CollectionDefinition = { ...collectionDefinitionSchema.parse({}), sources, schedules };
    const view: CollectionView = { id: 'wide', version: 1, updatedTime: '2026-12-06T08:00:00Z', definition, jobs: '' };
    const graph = buildDag({ collection: view, collections: [view], scheduleViews: null });
    expect(graph.nodes.filter((node) => node.kind === 'source')).toHaveLength(dagLimits.sourceNodes);
    expect(graph.nodes.find((node) => node.id === dagIds.moreSources)!.title).toBe('+42 more sources');
    expect(graph.nodes.filter((node) => node.kind === 'after-batch')).toHaveLength(dagLimits.afterNodes);
    expect(graph.nodes.find((node) => node.id === dagIds.moreAfter)!.title).toBe('+90 more to wait on');
    expect(graph.nodes.length).toBeLessThanOrEqual(dagLimits.sourceNodes + 1 + 7 + dagLimits.scheduleNodes + dagLimits.afterNodes + 1);
    const layout = layoutDag(graph);
    expect(layout.height).toBeLessThan(1800);
    expect(layout.nodes.filter((placed) => placed.layer === layout.nodes.find((found) => found.node.kind === 'schedule')!.layer)).toHaveLength(10);
  });

  it('makes bidirectional controls visible and cuts long text by code points', () => {
    expect(displayText('report\u202efdp.exe', 40)).toBe('report\ufffdfdp.exe');
    expect(displayText('a\u2066b\u2069c\u200fd', 40)).toBe('a\ufffdb\ufffdc\ufffdd');
    expect(displayText('line\nbreak\u0000', 40)).toBe('line\ufffdbreak\ufffd');
    expect(displayText('</svg><script>', 40)).toBe('</svg><script>');
    expect(displayText('😀'.repeat(10), 5)).toBe('😀😀😀😀…');
  });
});

describe('next runs computed in the page', () => {
  it('reads cron in the schedule\'s time zone with croner, as the server does', async () => {
    // Sunday 09:00 UTC: the next weekday 03:00 in Berlin is Monday 02:00 UTC.
    const runs = await computeNextRuns([{ name: 'nightly', cron: '0 3 * * 1-5', timeZone: 'Europe/Berlin', after: [] }, { name: 'never', cron: 'not a cron', timeZone: 'UTC', after: [] }], now);
    expect(runs).toEqual({ nightly: '2026-12-07T02:00:00.000Z', never: null });
  });
});

describe('the schedules API contract the graph reads (ScheduleView)', () => {
  it('parses the schedules API answer and refuses a wrong shape naming the field', () => {
    const answer = { collection: 'dem', version: 3, schedules: [nightlyView], settingsSchedule: null };
    expect(collectionSchedulesSchema.parse(answer)).toEqual(answer);
    const wrong = collectionSchedulesSchema.safeParse({ ...answer, schedules: [{ ...nightlyView, lastRun: { ...nightlyView.lastRun, at: 5 } }] });
    expect(wrong.success).toBe(false);
    expect(wrong.error!.issues.map((issue) => issue.path.join('.'))).toContain('schedules.0.lastRun.at');
  });
});
