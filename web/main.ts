/** The dashboard: jobs and batches, each a table and a page per item, routed by the URL fragment. */
import 'ol/ol.css';
import './app.css';
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { onTokenChange, storedToken } from './api.client.js';
import { BatchDetailPage } from './batch.page.js';
import { BatchesPage } from './batches.page.js';
import { CollectionDetailPage, CollectionsPage } from './collections.page.js';
import { batchesHash, collectionsHash, parseRoute, jobsHash, type Route } from './hash.route.js';
import { JobDetailPage } from './job.page.js';
import { JobsPage } from './jobs.page.js';
import { SignInForm } from './sign.in.form.js';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = (): void => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

function pageTitle(route: Route): string {
  switch (route.page) {
    case 'job':
      return `Job ${route.id}`;
    case 'batch':
      return `Batch ${route.id}`;
    case 'batches':
      return 'Batches';
    case 'collection':
      return `Collection ${route.id}`;
    case 'collections':
      return 'Collections';
    default:
      return 'Jobs';
  }
}

function App() {
  const route = useRoute();
  const [, setTokenVersion] = useState(0);
  useEffect(() => onTokenChange(() => setTokenVersion((n) => n + 1)), []);

  useEffect(() => {
    document.title = `${pageTitle(route)} · raster-ingest`;
  }, [route]);

  let page;
  if (route.page === 'jobs') page = html`<${JobsPage} filters=${route.filters} />`;
  else if (route.page === 'job') page = html`<${JobDetailPage} key=${route.id} id=${route.id} />`;
  else if (route.page === 'batches') page = html`<${BatchesPage} />`;
  else if (route.page === 'batch') page = html`<${BatchDetailPage} key=${route.id} id=${route.id} />`;
  else if (route.page === 'collections') page = html`<${CollectionsPage} />`;
  else if (route.page === 'collection') page = html`<${CollectionDetailPage} key=${route.id} id=${route.id} />`;
  else page = html`<main id="main"><h1>Page not found</h1><p>Nothing lives at <code>${route.hash}</code>. <a href=${jobsHash()}>See all jobs</a> or <a href=${batchesHash()}>all batches</a>.</p></main>`;

  return html`
    <a class="skip-link" href="#main" onClick=${(event: Event) => { event.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <header class="site-header">
      <a class="brand" href=${jobsHash()}>raster-ingest</a>
      <span class="brand-note">ingest jobs: rasters to Cloud Optimized GeoTIFFs and STAC</span>
      <nav class="site-nav" aria-label="Sections">
        <a href=${jobsHash()} aria-current=${route.page === 'jobs' || route.page === 'job' ? 'page' : undefined}>Jobs</a>
        <a href=${batchesHash()} aria-current=${route.page === 'batches' || route.page === 'batch' ? 'page' : undefined}>Batches</a>
        <a href=${collectionsHash()} aria-current=${route.page === 'collections' || route.page === 'collection' ? 'page' : undefined}>Collections</a>
      </nav>
      <${SignInForm} token=${storedToken()} />
    </header>
    ${page}
  `;
}

const root = document.getElementById('app')!;
// The static "Loading…" placeholder goes; Preact renders into an empty container.
root.replaceChildren();
render(html`<${App} />`, root);
