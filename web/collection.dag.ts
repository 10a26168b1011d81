/**
 * A collection page's workflow section (issue 24.6): the graph of its definition (web/dag.graph.ts,
 * laid out by web/dag.layout.ts, drawn by web/dag.view.ts) with where each current job stands,
 * refreshed like the jobs page. Choosing a node lists its jobs with links to their pages.
 *
 * Schedules: the schedules API (`GET /api/collections/{id}/schedules`) gives next and last runs,
 * missed windows and what each waits for. Where the service has no such route yet, the next run
 * is computed here from cron and time zone with croner (the library the server validates cron
 * with, so both read an expression the same way), loaded on demand as its own small chunk (about
 * 10 KB gzipped) only when the collection has schedules.
 */
import { html } from 'htm/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { CollectionView, JobView } from '../src/api/contract.js';
import { getCollectionSchedules, listCollections, listJobs } from './api.client.js';
import { buildDag, displayText, placeJobs, type JobPlace } from './dag.graph.js';
import { layoutDag } from './dag.layout.js';
import { computeNextRuns } from './schedule.next.js';
import { WorkflowGraph } from './dag.view.js';
import { jobHash } from './hash.route.js';
import { usePolling } from './use.polling.js';

/** Jobs move fast: the same pace as the jobs page. */
const jobsPollMs = 2000;
/** Other collections and schedules change rarely: the collection page's pace. */
const contextPollMs = 30_000;
/** The newest jobs of the collection looked at for recent endings; jobs still in flight or awaiting a decision are asked for separately. */
const recentJobs = 50;
const activeJobs = 100;

async function loadJobs(collection: string, signal: AbortSignal): Promise<JobView[]> {
  const recent = new URLSearchParams({ collection, top: String(recentJobs) });
  const active = new URLSearchParams({ collection, status: 'Pending,Running,Quarantined', top: String(activeJobs) });
  const [newest, current] = await Promise.all([listJobs(recent.toString(), signal), listJobs(active.toString(), signal)]);
  return [...current.jobs, ...newest.jobs];
}

function JobsAtNode({ title, description, places }: { title: string; description: string; places: readonly JobPlace[] }) {
  return html`
    <section class="dag-panel" aria-labelledby="dag-panel-heading" aria-live="polite">
      <h3 id="dag-panel-heading">${title}</h3>
      <p class="dag-description">${description}</p>
      ${places.length
        ? html`<ul class="dag-jobs">
            ${places.map(
              (place) => html`<li key=${place.job.id}><a href=${jobHash(place.job.id)}>${displayText(place.job.source ?? place.job.id, 120)}</a> <span class=${`dag-state dag-state-${place.state}`}>${place.label}</span></li>`,
            )}
          </ul>`
        : html`<p>No current job stands here.</p>`}
    </section>
  `;
}

export function CollectionWorkflow({ view }: { view: CollectionView }) {
  const definition = view.definition;
  const [selected, setSelected] = useState<string | null>(null);
  const [computedNextRuns, setComputedNextRuns] = useState<Record<string, string | null>>({});
  const context = usePolling(
    async (signal) => ({
      collections: (await listCollections(signal)).collections,
      // Asked only when there are schedules: a service without the route answers 404, which would be noise on every page.
      schedules: definition.schedules.length ? await getCollectionSchedules(view.id, signal) : null,
    }),
    contextPollMs,
    `${view.id}@${view.version}`,
  );
  const jobs = usePolling((signal) => loadJobs(view.id, signal), jobsPollMs, view.id);

  const scheduleViews = context.data?.schedules ?? null;
  const needsComputedRuns = definition.schedules.some((schedule) => !scheduleViews?.find((found) => found.name === schedule.name)?.nextRun);
  useEffect(() => {
    if (!needsComputedRuns) return;
    let current = true;
    computeNextRuns(definition.schedules, Date.now())
      .then((runs) => current && setComputedNextRuns(runs))
      // Without the chunk (offline, a failed load) the node says "next run: —".
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [view.id, view.version, needsComputedRuns, context.data]);

  const graph = useMemo(
    () => buildDag({ collection: view, collections: context.data?.collections ?? [], scheduleViews, computedNextRuns }),
    [view, context.data, computedNextRuns],
  );
  const layout = useMemo(() => layoutDag(graph), [graph]);
  const places = useMemo(() => placeJobs(graph, definition, jobs.data ?? [], Date.now()), [graph, jobs.data]);
  const chosen = selected ? graph.nodes.find((node) => node.id === selected) : undefined;
  const name = `Workflow of collection ${view.id}`;

  return html`
    <section class="workflow" aria-labelledby="workflow-heading">
      <h2 id="workflow-heading">Workflow</h2>
      <p class="hint">From sources through validation, tiles and quality gates to STAC, events and derived collections; schedules with what they wait on. The drawing scrolls inside its box. A badge counts the jobs at a step (those still running, awaiting a decision, or ended in the last day). Choose a step to list its jobs.</p>
      ${jobs.error ? html`<p class="error" role="alert">Could not load the collection's jobs: ${jobs.error.message}</p>` : null}
      ${context.error ? html`<p class="error" role="alert">Could not load the other collections or the schedules: ${context.error.message}</p>` : null}
      <${WorkflowGraph} layout=${layout} places=${places} selected=${chosen ? chosen.id : null} onSelect=${(id: string) => setSelected(id === selected ? null : id)} name=${name} />
      ${chosen ? html`<${JobsAtNode} title=${chosen.title} description=${chosen.description} places=${places.filter((place) => place.nodeId === chosen.id)} />` : null}
      <details class="dag-text">
        <summary>The workflow as text</summary>
        <ul class="dag-edge-list">
          ${graph.edges.map((edge) => {
            const from = graph.nodes.find((node) => node.id === edge.from)!;
            const to = graph.nodes.find((node) => node.id === edge.to)!;
            return html`<li>${from.title} (${from.lines[0] ?? ''}) → ${to.title} (${to.lines[0] ?? ''})${edge.label ? `: ${edge.label}` : ''}</li>`;
          })}
        </ul>
      </details>
    </section>
  `;
}
