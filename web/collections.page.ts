/**
 * Collections' workflow definitions (docs/collections.md): a table of every collection with its
 * sources, gates, derivation, schedules and webhooks; one collection's page with each part of its
 * definition, a link to its jobs, and an editor that writes the next version (the API needs the
 * version being replaced: a change someone else made meanwhile is refused, not overwritten).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { ApiError, getCollection, listCollections, putCollection } from './api.client.js';
import type { CollectionDefinition, CollectionView } from '../src/api/contract.js';
import { CollectionWorkflow } from './collection.dag.js';
import { describeGates } from './collection.format.js';
import { collectionHash, collectionsHash, jobsHash, noFilters } from './hash.route.js';
import { formatTime } from './tile.format.js';
import { usePolling } from './use.polling.js';

const pollMs = 30_000;

function describeSources(definition: CollectionDefinition): string {
  return definition.sources.map((source) => `${source.container}/${source.prefix}`).join(', ') || '–';
}

export function CollectionsPage() {
  const polled = usePolling((signal) => listCollections(signal), pollMs, 'collections');
  const list = polled.data;
  return html`
    <main id="main" tabindex="-1">
      <h1>Collections</h1>
      <p class="hint">A collection's definition says which uploads feed it, its default options, the quality gates a source must pass, what it derives from, its schedules and webhooks. Write one with <code>raster-ingest collection put</code> or <code>PUT /api/collections/{id}</code>.</p>
      ${polled.error ? html`<p class="error" role="alert">Could not load collections: ${polled.error.message}</p>` : null}
      ${!list && !polled.error ? html`<p aria-live="polite">Loading collections…</p>` : null}
      ${list
        ? html`
            <table class="jobs collections cards">
              <caption>Collections with a definition. Uploads no source rule matches go to <strong>${list.defaultCollection}</strong>.</caption>
              <thead><tr><th scope="col">Collection</th><th scope="col">Version</th><th scope="col">Sources</th><th scope="col">Gates</th><th scope="col">Derived from</th><th scope="col">Schedules</th><th scope="col">Webhooks</th><th scope="col">Updated</th></tr></thead>
              <tbody>
                ${list.collections.length
                  ? list.collections.map(
                      (collection) => html`
                        <tr key=${collection.id}>
                          <td data-label="Collection"><a href=${collectionHash(collection.id)}>${collection.id}</a></td>
                          <td data-label="Version" class="num">${collection.version}</td>
                          <td data-label="Sources" class="source">${describeSources(collection.definition)}</td>
                          <td data-label="Gates">${describeGates(collection.definition.gates).join('; ') || '–'}</td>
                          <td data-label="Derived from">${collection.definition.derivedFrom ? `${collection.definition.derivedFrom.product} of ${collection.definition.derivedFrom.collection}` : '–'}</td>
                          <td data-label="Schedules" class="num">${collection.definition.schedules.length}</td>
                          <td data-label="Webhooks" class="num">${collection.definition.notifications.webhooks.length}</td>
                          <td data-label="Updated">${formatTime(collection.updatedTime)}</td>
                        </tr>
                      `,
                    )
                  : html`<tr><td colspan="8">No collection has a definition yet.</td></tr>`}
              </tbody>
            </table>
          `
        : null}
    </main>
  `;
}

function DefinitionEditor({ view, onSaved }: { view: CollectionView; onSaved: (saved: CollectionView) => void }) {
  const [text, setText] = useState(() => JSON.stringify(view.definition, null, 2));
  const [problem, setProblem] = useState<{ message: string; fields: string[] } | null>(null);
  const [saving, setSaving] = useState(false);
  const save = async (): Promise<void> => {
    let definition: unknown;
    try {
      definition = JSON.parse(text);
    } catch {
      setProblem({ message: 'The definition is not JSON.', fields: [] });
      return;
    }
    setSaving(true);
    try {
      const saved = await putCollection(view.id, definition, view.version);
      setProblem(null);
      onSaved(saved);
    } catch (caught) {
      setProblem(caught instanceof ApiError ? { message: caught.message, fields: caught.problem.fields ?? [] } : { message: String(caught), fields: [] });
    } finally {
      setSaving(false);
    }
  };
  return html`
    <section aria-labelledby="edit-heading">
      <h2 id="edit-heading">Edit the definition</h2>
      <label for="definition-text">Definition (JSON), replacing version ${view.version}</label>
      <textarea id="definition-text" class="definition-text" rows="18" spellcheck="false" value=${text} onInput=${(event: Event) => setText((event.target as HTMLTextAreaElement).value)}></textarea>
      <p><button type="button" disabled=${saving} onClick=${() => void save()}>Save as version ${view.version + 1}</button></p>
      ${problem
        ? html`<div class="error" role="alert"><p>Not saved: ${problem.message}</p>${problem.fields.length ? html`<ul class="definition-fields">${problem.fields.map((field) => html`<li><code>${field}</code></li>`)}</ul>` : null}</div>`
        : null}
    </section>
  `;
}

export function CollectionDetailPage({ id }: { id: string }) {
  const polled = usePolling((signal) => getCollection(id, signal), pollMs, id);
  const [saved, setSaved] = useState<CollectionView | null>(null);
  const view = saved && (!polled.data || saved.version >= polled.data.version) ? saved : polled.data;
  const notFound = polled.error instanceof ApiError && polled.error.status === 404;
  return html`
    <main id="main" tabindex="-1">
      <p><a href=${collectionsHash()}>All collections</a></p>
      <h1>Collection <code>${id}</code></h1>
      ${notFound ? html`<p class="error" role="alert">No collection has that id.</p>` : polled.error ? html`<p class="error" role="alert">Could not load the collection: ${polled.error.message}</p>` : null}
      ${!view && !polled.error ? html`<p aria-live="polite">Loading the collection…</p>` : null}
      ${view
        ? html`
            <dl class="job-facts collection-facts">
              <div><dt>Version</dt><dd class="collection-version">${view.version}</dd></div>
              <div><dt>Updated</dt><dd>${formatTime(view.updatedTime)}</dd></div>
              <div><dt>Title</dt><dd>${view.definition.title ?? '–'}</dd></div>
              <div><dt>Sources</dt><dd class="source">${describeSources(view.definition)}</dd></div>
              <div><dt>Default options</dt><dd>${Object.entries(view.definition.options).map(([name, value]) => `${name}: ${String(value)}`).join(', ') || '–'}</dd></div>
              <div><dt>Worker threshold</dt><dd>${view.definition.route.workerThresholdMb !== undefined ? `${view.definition.route.workerThresholdMb} MB` : 'the app setting'}</dd></div>
              <div><dt>Quality gates</dt><dd class="collection-gates">${describeGates(view.definition.gates).join('; ') || 'none'}</dd></div>
              <div><dt>Derived from</dt><dd>${view.definition.derivedFrom ? html`${view.definition.derivedFrom.product} of <a href=${collectionHash(view.definition.derivedFrom.collection)}>${view.definition.derivedFrom.collection}</a>` : '–'}</dd></div>
              <div><dt>Schedules</dt><dd>${view.definition.schedules.map((schedule) => `${schedule.name}: ${schedule.cron} (${schedule.timeZone})${schedule.after.length ? ` after ${schedule.after.map((after) => ('collection' in after ? after.collection : after.batch)).join(', ')}` : ''}`).join('; ') || '–'}</dd></div>
              <div><dt>Webhooks</dt><dd>${view.definition.notifications.webhooks.map((webhook) => webhook.url).join(', ') || '–'}</dd></div>
              <div><dt>Jobs</dt><dd><a href=${jobsHash({ ...noFilters, collection: view.id })}>jobs of ${view.id}</a></dd></div>
            </dl>
            <${CollectionWorkflow} view=${view} />
            <${DefinitionEditor} key=${view.version} view=${view} onSaved=${setSaved} />
          `
        : null}
    </main>
  `;
}
