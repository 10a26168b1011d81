/**
 * Issue 24 (the deletion path): hostile `Microsoft.Storage.BlobDeleted` events. An event is input
 * like an upload: whoever can reach the trigger's endpoint can send one, and Event Grid itself
 * redelivers. Events naming containers outside the source containers, paths that climb or hide,
 * names at and over Azure's 1,024-character limit, subjects that disagree with the data URL, and
 * forged deletes of blobs that still exist. `test/unit/source.removal.test.ts` runs every case
 * through the trigger's parser; `test/integration/source.removal.test.ts` runs the ones the parser
 * lets through against a published source on Azurite: nothing of a live source is removed.
 */
import type { BlobEventLike } from '../../src/jobs/source.removal.js';

export interface HostileDeletion {
  name: string;
  category: 'container' | 'path' | 'long name' | 'subject and url' | 'forged delete' | 'shape';
  attack: string;
  /**
   * The event, given the name of the live source a test published in `uploads/`
   * (`<run>/live.tif`) and the blob URL base of the account (`http://host/account`).
   */
  event: (live: string, accountUrl: string) => BlobEventLike;
  /** `refused`: the parser says why (matching `problem`); `no-op`: parsed, but the removal finds the blob alive and removes nothing. */
  expected: { outcome: 'refused'; problem: RegExp } | { outcome: 'no-op' };
}

const subjectOf = (container: string, name: string): string => `/blobServices/default/containers/${container}/blobs/${name}`;
const urlOf = (accountUrl: string, container: string, name: string): string => `${accountUrl}/${container}/${name.split('/').map(encodeURIComponent).join('/')}`;

/** A BlobDeleted event as Azure Storage sends one, for `container/name`, with `overrides`. */
function deleted(container: string, name: string, accountUrl: string, overrides: Partial<BlobEventLike> & { url?: string; sequencer?: unknown } = {}): BlobEventLike {
  const { url, sequencer, ...rest } = overrides;
  return {
    id: '7f3e6c1a-0000-4000-8000-00000000d31e',
    eventType: 'Microsoft.Storage.BlobDeleted',
    subject: subjectOf(container, name),
    eventTime: '2026-12-06T10:00:00.000Z',
    data: { api: 'DeleteBlob', blobType: 'BlockBlob', contentType: 'image/tiff', url: url ?? urlOf(accountUrl, container, name), sequencer: sequencer ?? '0000000000000000000000000000abcd' },
    ...rest,
  };
}

const refused = (problem: RegExp) => ({ outcome: 'refused' as const, problem });
const noOp = { outcome: 'no-op' as const };

export const hostileDeletions: readonly HostileDeletion[] = [
  // --- containers outside the allowed list ------------------------------------------------
  { name: 'container-cogs', category: 'container', attack: 'the app\'s own output container "cogs"', event: (live, base) => deleted('cogs', live, base), expected: refused(/not a source container/) },
  { name: 'container-stac', category: 'container', attack: 'the STAC container, naming a collection document', event: (_, base) => deleted('stac', 'rasters/collection.json', base), expected: refused(/not a source container/) },
  { name: 'container-hosts', category: 'container', attack: 'the Functions host\'s own container (leases, receipts)', event: (_, base) => deleted('azure-webjobs-hosts', 'locks/x', base), expected: refused(/not a source container/) },
  { name: 'container-upper-case', category: 'container', attack: '"UPLOADS": a second spelling of the source container', event: (live, base) => deleted('UPLOADS', live, base), expected: refused(/not a source container/) },
  { name: 'container-dot-dot', category: 'container', attack: 'container ".." in the subject', event: (live, base) => deleted('..', live, base), expected: refused(/not a source container/) },
  // --- paths that climb or hide -----------------------------------------------------------
  { name: 'path-dot-dot', category: 'path', attack: '"uploads/../cogs/x.tif": climbs to another container', event: (_, base) => deleted('uploads', '../cogs/x.tif', base), expected: refused(/"\." or "\.\." segment/) },
  { name: 'path-dot-dot-inside', category: 'path', attack: 'a ".." segment inside the live source\'s folder', event: (live, base) => deleted('uploads', `${live.split('/')[0]}/../${live}`, base), expected: refused(/"\." or "\.\." segment/) },
  { name: 'path-dot', category: 'path', attack: 'a "." segment: a second name for the live source', event: (live, base) => deleted('uploads', `${live.split('/')[0]}/./${live.split('/').slice(1).join('/')}`, base), expected: refused(/"\." or "\.\." segment/) },
  { name: 'path-backslash', category: 'path', attack: 'backslashes, a Windows path', event: (_, base) => deleted('uploads', '..\\..\\cogs\\x.tif', base), expected: refused(/backslash/) },
  { name: 'path-empty-segment', category: 'path', attack: '"//" inside the name', event: (live, base) => deleted('uploads', live.replace('/', '//'), base), expected: refused(/empty segment/) },
  { name: 'path-control', category: 'path', attack: 'a newline and an escape sequence (log forging)', event: (_, base) => deleted('uploads', 'a\n\u001b[31mDELETED everything.tif', base), expected: refused(/control characters/) },
  { name: 'path-empty', category: 'path', attack: 'a subject that ends at "/blobs/"', event: (_, base) => ({ ...deleted('uploads', 'x', base), subject: '/blobServices/default/containers/uploads/blobs/' }), expected: refused(/does not name a blob/) },
  // --- names at and over Azure's limit ----------------------------------------------------
  { name: 'name-1024', category: 'long name', attack: 'a 1,024-character name (Azure\'s limit) of a blob never ingested', event: (_, base) => deleted('uploads', `${'n'.repeat(1020)}.tif`, base), expected: noOp },
  { name: 'name-1025', category: 'long name', attack: 'a 1,025-character name', event: (_, base) => deleted('uploads', `${'n'.repeat(1021)}.tif`, base), expected: refused(/1025 characters long/) },
  { name: 'name-255-segments', category: 'long name', attack: '255 folders', event: (_, base) => deleted('uploads', `${'a/'.repeat(254)}a`, base), expected: refused(/segments/) },
  { name: 'subject-100k', category: 'long name', attack: 'a 100,000-character subject', event: (_, base) => deleted('uploads', 'x'.repeat(100_000), base), expected: refused(/too long/) },
  // --- subject and data URL disagree ------------------------------------------------------
  { name: 'url-other-blob', category: 'subject and url', attack: 'the subject names a blob never ingested, the URL the live source', event: (live, base) => deleted('uploads', 'other.tif', base, { url: urlOf(base, 'uploads', live) }), expected: refused(/data URL does not name/) },
  { name: 'url-other-container', category: 'subject and url', attack: 'the URL names the live source\'s name in "cogs"', event: (live, base) => deleted('uploads', live, base, { url: urlOf(base, 'cogs', live) }), expected: refused(/data URL does not name/) },
  { name: 'url-deeper', category: 'subject and url', attack: 'the URL has the subject\'s path under two more folders', event: (live, base) => deleted('uploads', live, base, { url: `${base}/x/y/uploads/${live}` }), expected: refused(/data URL does not name/) },
  { name: 'url-not-a-url', category: 'subject and url', attack: 'the URL is "file:///etc/passwd"', event: (live, base) => deleted('uploads', live, base, { url: 'file:///etc/passwd' }), expected: refused(/data URL does not name/) },
  { name: 'url-bad-escape', category: 'subject and url', attack: 'a URL with a malformed percent escape', event: (live, base) => deleted('uploads', live, base, { url: `${base}/uploads/%E0%A4%A` }), expected: refused(/data URL does not name/) },
  { name: 'url-missing', category: 'subject and url', attack: 'no data URL at all', event: (live, base) => ({ ...deleted('uploads', live, base), data: { api: 'DeleteBlob' } }), expected: refused(/data URL does not name/) },
  // --- forged deletes of a blob that still exists ----------------------------------------
  { name: 'forged-live', category: 'forged delete', attack: 'a well-formed BlobDeleted for the live, published source', event: (live, base) => deleted('uploads', live, base), expected: noOp },
  { name: 'forged-live-new-sequencer', category: 'forged delete', attack: 'the same, with another sequencer (a new removal instance)', event: (live, base) => deleted('uploads', live, base, { sequencer: 'ffffffffffffffffffffffffffffffff' }), expected: noOp },
  { name: 'forged-live-no-sequencer', category: 'forged delete', attack: 'the same, without a sequencer (the event id names the deletion)', event: (live, base) => deleted('uploads', live, base, { sequencer: 42 }), expected: noOp },
  { name: 'forged-live-azure-url', category: 'forged delete', attack: 'the live source under another account\'s host name (the URL\'s host is not trusted, the blob is checked)', event: (live) => deleted('uploads', live, '', { url: `https://evil.blob.core.windows.net/uploads/${live}` }), expected: noOp },
  // --- event shape ------------------------------------------------------------------------
  { name: 'type-created', category: 'shape', attack: 'a BlobCreated event sent to the deletion trigger', event: (live, base) => ({ ...deleted('uploads', live, base), eventType: 'Microsoft.Storage.BlobCreated' }), expected: refused(/not a BlobDeleted event/) },
  { name: 'type-case', category: 'shape', attack: '"microsoft.storage.blobdeleted" (another spelling)', event: (live, base) => ({ ...deleted('uploads', live, base), eventType: 'microsoft.storage.blobdeleted' }), expected: refused(/not a BlobDeleted event/) },
  { name: 'subject-object', category: 'shape', attack: 'a subject that is an object, not text', event: (live, base) => ({ ...deleted('uploads', live, base), subject: { toString: () => subjectOf('uploads', live) } }), expected: refused(/subject is missing/) },
  { name: 'no-id', category: 'shape', attack: 'no event id', event: (live, base) => ({ ...deleted('uploads', live, base), id: undefined }), expected: refused(/no usable id/) },
  { name: 'bad-time', category: 'shape', attack: 'an event time that is not a time', event: (live, base) => ({ ...deleted('uploads', live, base), eventTime: 'yesterday; DROP TABLE' }), expected: refused(/no valid time/) },
];
