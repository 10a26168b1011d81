/**
 * Registers the ingestion activities. Their dependencies (storage, settings, the shared source
 * cache) are built on first use, so settings are read when the worker runs, not at import.
 */
import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import * as df from 'durable-functions';
import { readIngestSettings, readStacApiSettings } from '../config.js';
import {
  createActivityDependencies,
  createAnnounceDispatchPermits,
  createCreateDerivedItem,
  createListDerivedCollections,
  createRemoveDerivedProducts,
  type ActivityDependencies,
  createAuditDispatchPermits,
  createIngestActivities,
  createPrepareBatchJobs,
  createRequestCollectionMosaic,
  createValidateAndCreateTile,
  withDerivedLookup,
  runToOutcome,
  type ExistingJob,
  type IngestActivities,
} from '../activities/index.js';
import { findInstance } from '../jobs/durable.instances.js';
import { buildJobView } from '../jobs/job.view.js';
import { findLatestAttempt } from '../jobs/job.submit.js';
import {
  activities,
  type ActivityContract,
  type ActivityOutcome,
  type CreateAndRegisterTileInput,
  type PrepareBatchJobsInput,
  type RequestCollectionMosaicInput,
  type StartNotice,
  type ValidateAndCreateTileInput,
  type WorkStartedEvent,
} from '../pipeline/contracts.js';
import { createAzureStacApiClient } from '../stac/stac.api.token.js';
import { getBlobStore, getCollectionStore, getJobIndex, getRetiredOutputs, getWorkQueueSender } from './shared.store.js';

let implementations: IngestActivities | undefined;
let dependencies: ActivityDependencies | undefined;

function getActivities(): IngestActivities {
  implementations ??= createIngestActivities(getDependencies());
  return implementations;
}

function getDependencies(): ActivityDependencies {
  if (!dependencies) {
    const stacApi = readStacApiSettings();
    dependencies = createActivityDependencies({
        store: getBlobStore(),
        settings: readIngestSettings(),
        jobs: getJobIndex(),
        retired: getRetiredOutputs(),
        workQueue: getWorkQueueSender,
        // The static catalog is always written; a STAC API receives the same items as well.
        ...(stacApi ? { stacApi: createAzureStacApiClient(stacApi) } : {}),
    });
  }
  return dependencies;
}

/** Derived products' activities share the ingestion activities' dependencies, and read the collection definitions. */
let derived: { list: ReturnType<typeof createListDerivedCollections>; create: ReturnType<typeof createCreateDerivedItem>; remove: ReturnType<typeof createRemoveDerivedProducts> } | undefined;

function getDerivedActivities(): NonNullable<typeof derived> {
  if (!derived) {
    const deps = { ...getDependencies(), collections: getCollectionStore() };
    derived = { list: createListDerivedCollections(deps), create: createCreateDerivedItem(deps), remove: createRemoveDerivedProducts(deps) };
  }
  return derived;
}

function runLogged<Output>(name: string, context: InvocationContext, run: () => Promise<Output>): Promise<ActivityOutcome<Output>> {
  return runToOutcome(run, (failure, error) => {
    // The person-facing failure goes to the orchestrator; the raw error only to the logs.
    const log = failure.code === 'INTERNAL' ? context.error.bind(context) : context.warn.bind(context);
    log(`${name} failed (${failure.code}): ${failure.message}`, error);
  });
}

function register<Input, Output>(contract: ActivityContract<Input, Output>, pick: (all: IngestActivities) => (input: Input) => Promise<Output>): void {
  df.app.activity(contract.name, {
    handler: (input: Input, context: InvocationContext) => runLogged(contract.name, context, () => pick(getActivities())(input)),
  });
}

register(activities.validateRaster, (all) => all.validateRaster);
// Its tile part's failure is returned as data: logged here with the raw error, as runLogged logs the others.
df.app.activity(activities.validateAndCreateTile.name, {
  handler: (input: ValidateAndCreateTileInput, context: InvocationContext) =>
    runLogged(activities.validateAndCreateTile.name, context, () =>
      createValidateAndCreateTile(getActivities())(input, (failure, error) => context.warn(`${activities.validateAndCreateTile.name}: its tile failed (${failure.code}): ${failure.message}`, error)),
    ),
});
register(activities.createTileCog, (all) => all.createTileCog);
register(activities.registerTileItem, (all) => all.registerTileItem);
register(activities.finalizeCollection, (all) => withDerivedLookup(all.finalizeCollection, getDerivedActivities().list));
register(activities.recordJob, (all) => all.recordJob);
register(activities.dispatchTile, (all) => all.dispatchTile);
register(activities.listBatchSources, (all) => all.listBatchSources);
register(activities.buildCollectionMosaic, (all) => all.buildCollectionMosaic);
register(activities.checkQualityGates, (all) => all.checkQualityGates);
register(activities.deleteQuarantinedOutputs, (all) => all.deleteQuarantinedOutputs);
register(activities.markJobDecision, (all) => all.markJobDecision);
register(activities.findSourceOutputs, (all) => all.findSourceOutputs);
register(activities.findRunningJobs, (all) => all.findRunningJobs);
register(activities.removeSourceOutputs, (all) => all.removeSourceOutputs);

/** A derived-products activity, by its contract, with the same logging and outcome as the others. */
function registerDerived<Input, Output>(contract: ActivityContract<Input, Output>, pick: (all: NonNullable<typeof derived>) => (input: Input) => Promise<Output>): void {
  df.app.activity(contract.name, {
    handler: (input: Input, context: InvocationContext) => runLogged(contract.name, context, () => pick(getDerivedActivities())(input)),
  });
}

registerDerived(activities.listDerivedCollections, (all) => all.list);
registerDerived(activities.createDerivedItem, (all) => all.create);
registerDerived(activities.removeDerivedProducts, (all) => all.remove);

/**
 * Tells the tile's orchestration that the work has started (it waited for an activity slot until
 * now), by the event it waits for. Best effort: without it the tile shows queued until it ends.
 */
async function announceStart(client: DurableClient, notice: StartNotice, context: InvocationContext): Promise<void> {
  const event: WorkStartedEvent = { kind: 'work-started', startedAt: new Date().toISOString() };
  try {
    await client.raiseEvent(notice.instanceId, notice.eventName, event);
  } catch (error) {
    context.log(`${activities.createAndRegisterTile.name}: could not tell ${notice.instanceId} that the tile started: ${error instanceof Error ? error.message : String(error)}`);
  }
}

// It says when it starts (1.3 on: `startNotice`), through the durable client binding.
df.app.activity(activities.createAndRegisterTile.name, {
  extraInputs: [df.input.durableClient()],
  handler: (input: CreateAndRegisterTileInput, context: InvocationContext) => {
    const { startNotice, ...work } = input;
    const announced = startNotice ? announceStart(df.getClient(context), startNotice, context) : undefined;
    return runLogged(activities.createAndRegisterTile.name, context, async () => {
      try {
        return await getActivities().createAndRegisterTile(work);
      } finally {
        await announced;
      }
    });
  },
});

// It starts an orchestration, so it takes the durable client binding (any function may have one).
df.app.activity(activities.requestCollectionMosaic.name, {
  extraInputs: [df.input.durableClient()],
  handler: (input: RequestCollectionMosaicInput, context: InvocationContext) =>
    runLogged(activities.requestCollectionMosaic.name, context, () => createRequestCollectionMosaic(df.getClient(context))(input)),
});

/** The newest attempt of a job, as a batch preparing its sources needs it: a batch never starts a second job for one upload. */
async function findExistingJob(client: df.DurableClient, baseInstanceId: string): Promise<ExistingJob | undefined> {
  const latest = await findLatestAttempt(client, baseInstanceId);
  if (!latest) return undefined;
  const [failure] = buildJobView(latest.status).errors;
  return { instanceId: latest.status.instanceId, runtimeStatus: latest.status.runtimeStatus, ...(failure ? { failure: { code: failure.code, message: failure.message } } : {}) };
}

// It looks up the jobs that exist for its sources (one job per upload, collection and options), so it takes the durable client too.
df.app.activity(activities.prepareBatchJobs.name, {
  extraInputs: [df.input.durableClient()],
  handler: (input: PrepareBatchJobsInput, context: InvocationContext) =>
    runLogged(activities.prepareBatchJobs.name, context, () => {
      const client = df.getClient(context);
      return createPrepareBatchJobs({ store: getBlobStore(), jobs: getJobIndex(), findJob: (baseInstanceId) => findExistingJob(client, baseInstanceId) })(input);
    }),
});

// The worker's dispatch permits (issue 21): an entity can neither raise events nor read instances, so these do it for it.
df.app.activity(activities.announceDispatchPermits.name, {
  extraInputs: [df.input.durableClient()],
  handler: (input: { holders: string[] }, context: InvocationContext) =>
    runLogged(activities.announceDispatchPermits.name, context, () => createAnnounceDispatchPermits(df.getClient(context))(input)),
});

df.app.activity(activities.auditDispatchPermits.name, {
  extraInputs: [df.input.durableClient()],
  handler: (input: { holders: string[] }, context: InvocationContext) =>
    runLogged(activities.auditDispatchPermits.name, context, async () => {
      const client = df.getClient(context);
      const gone = await createAuditDispatchPermits((instanceId) => findInstance(client, instanceId))(input);
      if (gone.length > 0) context.log(`${activities.auditDispatchPermits.name}: reclaiming the dispatch permits of ${gone.length} holder(s) no longer running: ${gone.join(', ')}`);
      return gone;
    }),
});
