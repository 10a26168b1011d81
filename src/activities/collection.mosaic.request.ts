/**
 * Activity: ask for a collection's mosaic to be brought up to date, without waiting for the build. It marks
 * the collection's `collectionMosaicRequests` entity, then starts a `collectionMosaic` run; the
 * mark is queued on the entity before the run asks for its lock, so the run (or one already
 * waiting) always sees it. A retried activity only adds a run that finds nothing to claim.
 */
import type { DurableClient } from 'durable-functions';
import { mosaicRequestOperations, orchestratorNames, type CollectionMosaicRequested, type CollectionMosaicRun, type RequestCollectionMosaicInput } from '../pipeline/contracts.js';
import { collectionMosaicRequestsId } from '../orchestrations/mosaic.orchestrator.js';

export type RequestCollectionMosaic = (input: RequestCollectionMosaicInput) => Promise<CollectionMosaicRequested>;

export function createRequestCollectionMosaic(client: Pick<DurableClient, 'signalEntity' | 'startNew'>): RequestCollectionMosaic {
  return async ({ collection }) => {
    await client.signalEntity(collectionMosaicRequestsId(collection), mosaicRequestOperations.request);
    const run: CollectionMosaicRun = { collection };
    const instanceId = await client.startNew(orchestratorNames.collectionMosaic, { input: run });
    return { instanceId };
  };
}
