/** The dashboard's pages live in the URL fragment (`#/`, `#/jobs/<id>`, `#/batches`, `#/batches/<id>`), so one static index.html serves them all. */

export interface JobFilters {
  /** Runtime statuses, any of them (empty = all). */
  status: string[];
  collection: string;
  /** ISO time or a span the API reads (`30m`, `12h`, `1d`); empty = any time. */
  since: string;
  /** A prefix of the source: `<container>/<path>`, or a blob path in any container; empty = any. */
  source: string;
  /** A batch id: only its jobs; empty = any. */
  batch: string;
}

export type Route =
  | { page: 'jobs'; filters: JobFilters }
  | { page: 'job'; id: string }
  | { page: 'batches' }
  | { page: 'batch'; id: string }
  | { page: 'collections' }
  | { page: 'collection'; id: string }
  | { page: 'not-found'; hash: string };

export const noFilters: JobFilters = { status: [], collection: '', since: '', source: '', batch: '' };

export function parseRoute(hash: string): Route {
  const text = hash.replace(/^#/, '') || '/';
  const [path = '/', query = ''] = text.split('?', 2);
  if (path === '/' || path === '') {
    const params = new URLSearchParams(query);
    return {
      page: 'jobs',
      filters: {
        status: (params.get('status') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
        collection: params.get('collection') ?? '',
        since: params.get('since') ?? '',
        source: params.get('source') ?? '',
        batch: params.get('batch') ?? '',
      },
    };
  }
  if (path === '/batches' || path === '/batches/') return { page: 'batches' };
  if (path === '/collections' || path === '/collections/') return { page: 'collections' };
  const one = /^\/(jobs|batches|collections)\/([^/]+)$/.exec(path);
  if (one) {
    try {
      const id = decodeURIComponent(one[2]!);
      return one[1] === 'jobs' ? { page: 'job', id } : one[1] === 'batches' ? { page: 'batch', id } : { page: 'collection', id };
    } catch {
      return { page: 'not-found', hash };
    }
  }
  return { page: 'not-found', hash };
}

export function jobsHash(filters: JobFilters = noFilters): string {
  const params = filterParams(filters);
  const query = params.toString();
  return query ? `#/?${query}` : '#/';
}

export function jobHash(id: string): string {
  return `#/jobs/${encodeURIComponent(id)}`;
}

export function batchesHash(): string {
  return '#/batches';
}

export function batchHash(id: string): string {
  return `#/batches/${encodeURIComponent(id)}`;
}

export function collectionsHash(): string {
  return '#/collections';
}

export function collectionHash(id: string): string {
  return `#/collections/${encodeURIComponent(id)}`;
}

/** The filters as the API's query parameters (`status=Failed,Running&collection=...&since=1d&source=...&batch=...`). */
export function filterParams(filters: JobFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.status.length) params.set('status', filters.status.join(','));
  for (const name of ['collection', 'since', 'source', 'batch'] as const) {
    const value = filters[name].trim();
    if (value) params.set(name, value);
  }
  return params;
}

/** Whether any filter is set. */
export function hasFilters(filters: JobFilters): boolean {
  return filterParams(filters).toString() !== '';
}

/** `GET /api/jobs` query for one page. */
export function jobsQuery(filters: JobFilters, continuationToken: string | null, top: number): string {
  const params = filterParams(filters);
  params.set('top', String(top));
  if (continuationToken) params.set('continuationToken', continuationToken);
  return params.toString();
}
