/**
 * HTTP API for collection definitions (docs/collections.md): list them, read one (or an earlier
 * version of it), write one. Thin: parse, validate (src/collections), store, answer.
 *
 * A definition is versioned: `GET` answers with `ETag: "<version>"`, and a `PUT` that replaces
 * a definition must send that version in `If-Match` (428 without it, 412 when it is not the
 * current one), so two operators never overwrite each other's change unseen. A definition at
 * fault is a 400 whose `fields` name each path in it (`derivedFrom.collection`).
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { CollectionList, CollectionView } from '../api/contract.js';
import { collectionQuerySchema } from '../api/requests.js';
import type { StoredCollection } from '../collections/collection.store.js';
import { validateDefinition } from '../collections/definition.validate.js';
import { collectionIdPattern } from '../collections/definition.schema.js';
import { readIngestSettings, readScheduleRecheckMs, readWebhookPolicy } from '../config.js';
import { syncSchedules } from '../jobs/schedule.instances.js';
import { defaultCollectionId } from '../pipeline/options.js';
import { httpRoute } from './http.access.js';
import { guarded, invalidRequest, problem, readJsonBody } from './http.problem.js';
import { getCollectionStore } from './shared.store.js';

export function toCollectionView(collection: StoredCollection): CollectionView {
  return { id: collection.id, version: collection.version, updatedTime: collection.updatedTime, definition: collection.definition, jobs: `/api/jobs?collection=${encodeURIComponent(collection.id)}` };
}

const etagOf = (version: number): string => `"${version}"`;

/** `"3"`, `W/"3"` or `3` → 3; anything else → `undefined`. */
export function parseVersionTag(tag: string): number | undefined {
  const match = /^(?:W\/)?"?(\d{1,10})"?$/.exec(tag.trim());
  return match ? Number(match[1]) : undefined;
}

function badId(): HttpResponseInit {
  return problem(400, 'Invalid collection id', 'id: must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit', { fields: ['id'] });
}

export async function listCollectionsHandler(): Promise<HttpResponseInit> {
  const collections = await getCollectionStore().list();
  return { status: 200, jsonBody: { collections: collections.map(toCollectionView), defaultCollection: defaultCollectionId } satisfies CollectionList };
}

export async function getCollectionHandler(request: HttpRequest): Promise<HttpResponseInit> {
  const id = request.params['id'] ?? '';
  if (!collectionIdPattern.test(id)) return badId();
  const query = collectionQuerySchema.safeParse(Object.fromEntries(request.query.entries()));
  if (!query.success) return invalidRequest('Invalid request', query.error.issues, 'query');
  const collection = await getCollectionStore().read(id, query.data.version);
  if (!collection) return problem(404, 'Collection not found', query.data.version === undefined ? 'No collection has that id' : 'That collection has no such version');
  return { status: 200, headers: { ETag: etagOf(collection.version) }, jsonBody: toCollectionView(collection) };
}

export async function putCollectionHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const id = request.params['id'] ?? '';
  if (!collectionIdPattern.test(id)) return badId();
  const ifMatch = request.headers.get('if-match');
  const expected = ifMatch === null ? null : parseVersionTag(ifMatch);
  if (ifMatch !== null && expected === undefined) return problem(400, 'Invalid If-Match', 'If-Match must be the version GET gave in ETag, such as "3"', { fields: ['If-Match'] });
  const read = await readJsonBody(request);
  if (!read.ok) return read.response;

  const collections = getCollectionStore();
  const all = await collections.list();
  const previous = all.find((other) => other.id === id);
  const others = new Map(all.filter((other) => other.id !== id).map((other) => [other.id, other.definition] as const));
  const check = validateDefinition(id, read.body, { sourceContainers: readIngestSettings().sourceContainers, webhooks: readWebhookPolicy(), others, now: new Date() });
  if (!check.ok) {
    return problem(400, 'Invalid collection definition', check.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '), { fields: [...new Set(check.issues.map((issue) => issue.path))] });
  }
  const result = await collections.write(id, check.definition, expected ?? null, new Date());
  if (result.outcome === 'stale') {
    if (expected === null && result.currentVersion !== null) {
      return problem(428, 'If-Match required', `Collection "${id}" has a definition (version ${result.currentVersion}): send If-Match: "${result.currentVersion}" to replace it`, { currentVersion: result.currentVersion });
    }
    return problem(412, 'Definition changed', result.currentVersion === null ? `Collection "${id}" has no definition to replace; send no If-Match to create it` : `The current version is ${result.currentVersion}; read it again and re-apply your change`, { currentVersion: result.currentVersion });
  }
  context.log(`Collection ${id}: version ${result.collection.version}`);
  // Its schedules' instances start, re-read the definition, or stop. The definition is stored
  // either way: a failure here is logged, and the reconcile timer starts what did not start.
  try {
    const actions = await syncSchedules(df.getClient(context), result.collection, previous, readScheduleRecheckMs(), new Date());
    if (Object.keys(actions).length > 0) context.log(`Collection ${id}: schedules ${Object.entries(actions).map(([name, action]) => `${name} ${action}`).join(', ')}`);
  } catch (error) {
    context.warn(`Collection ${id}: its schedules could not be updated now (${error instanceof Error ? error.message : 'unknown error'}); the reconcile timer retries within 10 minutes`);
  }
  return { status: result.collection.version === 1 ? 201 : 200, headers: { ETag: etagOf(result.collection.version) }, jsonBody: toCollectionView(result.collection) };
}

// Roles (src/api/access.ts): reading definitions is for readers, writing one for admins.
httpRoute('listCollections', { route: 'collections', methods: ['GET'], handler: guarded(listCollectionsHandler) });
httpRoute('getCollection', { route: 'collections/{id}', methods: ['GET'], handler: guarded(getCollectionHandler) });
httpRoute('putCollection', { route: 'collections/{id}', methods: ['PUT'], extraInputs: [df.input.durableClient()], handler: guarded(putCollectionHandler) });
