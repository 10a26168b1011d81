/**
 * Starting the removal of a deleted source, for the `BlobDeleted` trigger: the event is checked
 * like any upload-named input (src/pipeline/source.path.ts) and against itself (its subject and
 * its data's URL must name the same blob), then one `removeSource` orchestration starts per
 * deletion of a blob: its instance id is derived from the blob and the deletion (storage's
 * sequencer), so a redelivered event finds the removal it started and starts nothing.
 *
 * Whether the blob is really gone is not decided here but by the removal's first step, on storage
 * itself: an event, genuine or forged, is only a reason to look.
 */
import { createHash } from 'node:crypto';
import type { DurableClient } from 'durable-functions';
import { orchestratorNames, type SourceRemovalInput } from '../pipeline/contracts.js';
import { parseSourcePath } from '../pipeline/source.path.js';
import { findInstance } from './durable.instances.js';
import { canonicalJson } from './job.id.js';

export const blobDeletedEventType = 'Microsoft.Storage.BlobDeleted';

export const removalInstancePrefix = 'remove-';

/** Longest subject or URL read: a container (63) and a blob name (1,024, percent-encoded up to 3×) with room for the rest. */
const maxSubjectLength = 1200;
const maxUrlLength = 3400;

/** The fields of an Event Grid event this module reads (the trigger's `EventGridEvent`, or anything claiming to be one). */
export interface BlobEventLike {
  id?: unknown;
  eventType?: unknown;
  subject?: unknown;
  eventTime?: unknown;
  data?: unknown;
}

export type ParsedBlobDeleted = { ok: true; input: SourceRemovalInput } | { ok: false; problem: string };

function field(data: unknown, name: string): unknown {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[name] : undefined;
}

/** `/blobServices/default/containers/<container>/blobs/<name>` → `<container>/<name>`, or `undefined`. */
function blobPathOfSubject(subject: string): string | undefined {
  const match = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/s.exec(subject);
  return match ? `${match[1]}/${match[2]}` : undefined;
}

/**
 * Whether the event's data URL names the same blob as its subject: its path, decoded, is
 * `/<container>/<name>` under at most one leading segment (Azurite's account name).
 */
function urlNamesBlob(url: string, container: string, name: string): boolean {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url).pathname);
  } catch {
    return false;
  }
  const tail = `/${container}/${name}`;
  if (!pathname.endsWith(tail)) return false;
  const head = pathname.slice(0, pathname.length - tail.length);
  return head === '' || /^\/[^/]+$/.test(head);
}

/**
 * Reads a `Microsoft.Storage.BlobDeleted` event for a blob in a source container into the
 * removal's input, or says why the event is refused. The problem may quote nothing from the event
 * but its container (when it is a container name); callers bound what they log.
 */
export function parseBlobDeletedEvent(event: BlobEventLike, sourceContainers: readonly string[]): ParsedBlobDeleted {
  if (event.eventType !== blobDeletedEventType) return { ok: false, problem: 'not a BlobDeleted event' };
  if (typeof event.subject !== 'string' || event.subject.length > maxSubjectLength) return { ok: false, problem: 'the subject is missing or too long to name a blob' };
  const path = blobPathOfSubject(event.subject);
  if (!path) return { ok: false, problem: 'the subject does not name a blob' };
  const parsed = parseSourcePath(path, sourceContainers);
  if (!parsed.ok) return { ok: false, problem: parsed.problem };
  const { container, name } = parsed.source;
  const url = field(event.data, 'url');
  if (typeof url !== 'string' || url.length > maxUrlLength || !urlNamesBlob(url, container, name)) return { ok: false, problem: 'the event\'s data URL does not name the blob its subject names' };
  const id = typeof event.id === 'string' && event.id.length > 0 && event.id.length <= 100 ? event.id : undefined;
  if (!id) return { ok: false, problem: 'the event has no usable id' };
  const sequencer = field(event.data, 'sequencer');
  const eventTime = typeof event.eventTime === 'string' && event.eventTime.length <= 40 && !Number.isNaN(Date.parse(event.eventTime)) ? new Date(event.eventTime).toISOString() : undefined;
  if (!eventTime) return { ok: false, problem: 'the event has no valid time' };
  return {
    ok: true,
    input: {
      source: { container, name },
      // Storage's sequencer tells deletions of one blob apart; without one (never from Azure Storage), the event id does.
      deletion: { eventId: id, eventTime, sequencer: typeof sequencer === 'string' && /^[0-9A-Fa-f]{1,64}$/.test(sequencer) ? sequencer : '' },
    },
  };
}

/** The removal's instance id: one per blob and deletion, whoever delivers the event how often. */
export function removalInstanceId(input: SourceRemovalInput): string {
  const deletion = input.deletion.sequencer !== '' ? { sequencer: input.deletion.sequencer.toLowerCase() } : { eventId: input.deletion.eventId };
  const digest = createHash('sha256')
    .update(canonicalJson({ source: `${input.source.container}/${input.source.name}`, ...deletion }))
    .digest('hex');
  return `${removalInstancePrefix}${digest.slice(0, 32)}`;
}

export type StartRemovalResult = { outcome: 'started' | 'existing'; instanceId: string };

/** Starts the removal unless this deletion's removal exists (running or finished). */
export async function startSourceRemoval(client: DurableClient, input: SourceRemovalInput): Promise<StartRemovalResult> {
  const instanceId = removalInstanceId(input);
  if (await findInstance(client, instanceId)) return { outcome: 'existing', instanceId };
  try {
    await client.startNew(orchestratorNames.removeSource, { instanceId, input });
  } catch (error) {
    // A concurrent delivery of the same event may have won the race: that is the same removal.
    if (await findInstance(client, instanceId)) return { outcome: 'existing', instanceId };
    throw error;
  }
  return { outcome: 'started', instanceId };
}
