/** The dashboard: a jobs table and a page per job, routed by the URL fragment. */
import 'ol/ol.css';
import './app.css';
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { onKeyChange, storedFunctionKey } from './api.client.js';
import { parseRoute, jobsHash, type Route } from './hash.route.js';
import { JobDetailPage } from './job.page.js';
import { JobsPage } from './jobs.page.js';
import { KeyForm } from './key.form.js';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = (): void => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

function App() {
  const route = useRoute();
  const [, setKeyVersion] = useState(0);
  useEffect(() => onKeyChange(() => setKeyVersion((n) => n + 1)), []);

  useEffect(() => {
    document.title = route.page === 'job' ? `Job ${route.id} · raster-ingest` : 'Jobs · raster-ingest';
  }, [route]);

  let page;
  if (route.page === 'jobs') page = html`<${JobsPage} filters=${route.filters} />`;
  else if (route.page === 'job') page = html`<${JobDetailPage} key=${route.id} id=${route.id} />`;
  else page = html`<main id="main"><h1>Page not found</h1><p>Nothing lives at <code>${route.hash}</code>. <a href=${jobsHash()}>See all jobs</a>.</p></main>`;

  return html`
    <a class="skip-link" href="#main" onClick=${(event: Event) => { event.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <header class="site-header">
      <a class="brand" href=${jobsHash()}>raster-ingest</a>
      <span class="brand-note">ingest jobs: rasters to Cloud Optimized GeoTIFFs and STAC</span>
      <${KeyForm} hasKey=${storedFunctionKey() !== null} />
    </header>
    ${page}
  `;
}

const root = document.getElementById('app')!;
// The static "Loading…" placeholder goes; Preact renders into an empty container.
root.replaceChildren();
render(html`<${App} />`, root);
