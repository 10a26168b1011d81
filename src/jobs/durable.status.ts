/**
 * Durable Functions' instance-status shape, for the URL a submission names as `statusQueryGetUri`.
 * Clients that follow Durable's async HTTP pattern (Logic Apps, Data Factory, scripts written
 * against the Durable docs) poll that URL: 202 with `Location` while the instance runs, 200 once
 * it ended, and read `runtimeStatus`, `customStatus` and `output`. Filled only from the sanitized
 * job or batch view (codes, messages for people, bounded names), never from the orchestration's
 * raw output or error text. Pure.
 */
import type { BatchView } from './batch.view.js';
import type { JobView } from './job.view.js';

/** The fields Durable's `GET /runtime/webhooks/durabletask/instances/{id}` answers with. */
export interface DurableInstanceStatus {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
}

/** Runtime statuses after which an instance changes no more: Durable answers 200 for them, 202 before. */
const endedStatuses: ReadonlySet<string> = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

export function durableHttpStatus(runtimeStatus: string): 200 | 202 {
  return endedStatuses.has(runtimeStatus) ? 200 : 202;
}

export function durableStatusOfJob(view: JobView, name: string): DurableInstanceStatus {
  const failed = view.status === 'Failed' || view.status === 'Terminated';
  return {
    name,
    instanceId: view.id,
    runtimeStatus: view.status,
    input: { source: view.source, collection: view.collection },
    customStatus: { stage: view.stage, route: view.route, tiles: view.tiles, itemsRegistered: view.itemsRegistered, errors: view.errors, errorCount: view.errorCount },
    // Durable gives a failed instance's output as its failure: here, the job's first failure (a code and a message for a person).
    output: failed ? { error: view.errors[0] ?? null, errorCount: view.errorCount, partial: view.output ?? null } : (view.output ?? null),
    createdTime: view.createdTime,
    lastUpdatedTime: view.lastUpdatedTime,
  };
}

export function durableStatusOfBatch(view: BatchView, name: string): DurableInstanceStatus {
  const failed = view.status === 'Failed' || view.status === 'Terminated';
  return {
    name,
    instanceId: view.id,
    runtimeStatus: view.status,
    input: { selection: view.selection, collection: view.collection },
    customStatus: { stage: view.stage, counts: view.counts, failures: view.failures, missing: view.missing },
    output: failed ? { error: view.reason, counts: view.counts } : view.output,
    createdTime: view.createdTime,
    lastUpdatedTime: view.lastUpdatedTime,
  };
}
