import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobLeaseClient, ContainerClient } from '@azure/storage-blob';
import { statusOf, withStorageRetry } from './retry.js';

const leaseSeconds = 15;
const renewEveryMs = 5000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface HubLease {
  release(): Promise<void>;
}

/**
 * One host owns a task hub at a time: a blob lease in `{hub}-leases`. A second host refuses to
 * start with a clear message. A lease left by a host on this machine whose process is gone
 * (killed) is broken at once instead of waiting for it to expire.
 */
export async function acquireHubLease(container: ContainerClient, hubName: string, log: (line: string) => void, waitForExpiryMs = 20_000): Promise<HubLease> {
  const blob = container.getBlockBlobClient('owner');
  await withStorageRetry('creating the hub lease blob', async () => {
    try {
      await blob.upload('', 0, { conditions: { ifNoneMatch: '*' } });
    } catch (error) {
      if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
    }
  });
  const lease: BlobLeaseClient = blob.getBlobLeaseClient();
  const deadline = Date.now() + waitForExpiryMs;
  let toldWaiting = false;
  for (;;) {
    try {
      await withStorageRetry('acquiring the task hub lease', () => lease.acquireLease(leaseSeconds));
      break;
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
      const metadata = (await blob.getProperties()).metadata ?? {};
      const ownerHost = metadata['host'];
      const ownerPid = Number(metadata['pid']);
      if (ownerHost === hostname() && Number.isInteger(ownerPid) && ownerPid !== process.pid && !processAlive(ownerPid)) {
        log(`Task hub ${hubName} was owned by process ${ownerPid}, which is gone; taking over.`);
        await lease.breakLease(0);
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Task hub '${hubName}' is in use by another host (${ownerHost ?? 'unknown machine'}, pid ${metadata['pid'] ?? '?'}). ` +
            'Two hosts must not run the same task hub: stop the other host, or give this one another hub name (--hub or DURABLE_TASK_HUB_NAME).',
        );
      }
      if (!toldWaiting) {
        log(`Task hub ${hubName} is leased by ${ownerHost ?? '?'} pid ${metadata['pid'] ?? '?'}; waiting up to ${Math.round(waitForExpiryMs / 1000)} s for the lease to expire...`);
        toldWaiting = true;
      }
      await sleep(1000);
    }
  }
  await withStorageRetry('recording the task hub owner', () =>
    blob.setMetadata({ host: hostname(), pid: String(process.pid), since: new Date().toISOString() }, { conditions: { leaseId: lease.leaseId } }),
  );
  let released = false;
  const renew = setInterval(() => {
    lease.renewLease().catch((error: unknown) => {
      if (!released) log(`Could not renew the task hub lease (will retry): ${(error as Error).message}`);
    });
  }, renewEveryMs);
  renew.unref();
  return {
    release: async () => {
      released = true;
      clearInterval(renew);
      await lease.releaseLease().catch(() => undefined);
    },
  };
}
