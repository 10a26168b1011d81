/**
 * Reads orchestration instances through the Durable extension's HTTP API, the one the SDK itself
 * uses, so that an unknown instance is told apart from a failure by its status code (the SDK's
 * `getStatus` reports both as plain errors). The endpoint comes from the durable client binding.
 */
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';

/** The fields of the durable client's binding data this module reads (the SDK keeps it as `clientData`). */
const clientDataSchema = z.object({
  rpcBaseUrl: z.string().url().optional(),
  managementUrls: z.object({ id: z.string(), statusQueryGetUri: z.string().url() }),
});

/** The status of an instance as the extension's HTTP API returns it. */
export const instanceStatusSchema = z.object({
  instanceId: z.string(),
  name: z.string(),
  runtimeStatus: z.string(),
  createdTime: z.string(),
  lastUpdatedTime: z.string(),
  input: z.unknown().optional(),
  output: z.unknown().optional(),
  customStatus: z.unknown().optional(),
});

export type InstanceStatus = z.infer<typeof instanceStatusSchema>;

/** An answer from the extension that is neither the instance nor "not found". */
export class DurableApiError extends Error {
  constructor(readonly status: number) {
    super(`the Durable Functions extension answered HTTP ${status}`);
    this.name = 'DurableApiError';
  }
}

function statusUrl(client: DurableClient, instanceId: string): string {
  const data = clientDataSchema.parse(Reflect.get(client, 'clientData'));
  if (data.rpcBaseUrl) return new URL(`instances/${encodeURIComponent(instanceId)}`, data.rpcBaseUrl).href;
  return data.managementUrls.statusQueryGetUri.replace(data.managementUrls.id, encodeURIComponent(instanceId));
}

export interface InstanceListQuery {
  instanceIdPrefix: string;
  top: number;
  continuationToken?: string;
}

/** One page of the instances whose id starts with a prefix, with their inputs. */
export async function listInstances(client: DurableClient, query: InstanceListQuery): Promise<{ items: InstanceStatus[]; continuationToken: string | undefined }> {
  // The list URL is the status URL of "no instance"; the extension reads the filter from the query.
  const url = new URL(statusUrl(client, ''));
  url.searchParams.set('instanceIdPrefix', query.instanceIdPrefix);
  url.searchParams.set('top', String(query.top));
  url.searchParams.set('showInput', 'true');
  const response = await fetch(url, { headers: { Accept: 'application/json', ...(query.continuationToken ? { 'x-ms-continuation-token': query.continuationToken } : {}) } });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new DurableApiError(response.status);
  }
  const items = z.array(instanceStatusSchema).parse(await response.json());
  return { items, continuationToken: response.headers.get('x-ms-continuation-token') ?? undefined };
}

/** The instance's status, or `undefined` when no instance has that id. */
export async function findInstance(client: DurableClient, instanceId: string): Promise<InstanceStatus | undefined> {
  const response = await fetch(statusUrl(client, instanceId), { headers: { Accept: 'application/json' } });
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  // 200 for a completed instance, 202 while it runs, 400 once it failed or was terminated.
  if (response.status !== 200 && response.status !== 202 && response.status !== 400) {
    await response.body?.cancel();
    throw new DurableApiError(response.status);
  }
  return instanceStatusSchema.parse(await response.json());
}
