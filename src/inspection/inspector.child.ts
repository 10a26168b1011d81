/**
 * The inspecting process: answers one `InspectionRequest` at a time over its IPC channel. Started
 * by `SourceInspector` with an address-space limit, a small GDAL cache, PROJ pinned to its own
 * data with its network off, and none of the app's secrets in its environment; stopped by it when
 * an upload takes too long. It exits when the app's process goes away.
 */
import { FailureError, redactLocalPaths } from '../pipeline/failure.js';
import { boundText } from '../pipeline/bounded.text.js';
import { configureGdal } from '../raster/gdal.setup.js';
import { sourcePathNames } from '../raster/source.open.js';
import type { InspectionAnswer, InspectionMessage } from './inspection.protocol.js';
import { inspectUntrustedSource } from './source.inspection.js';

/** What a native allocation failure looks like once GDAL or Node reports it. */
const outOfMemory = /out of memory|cannot allocate|bad_alloc|allocation failed|ERR_MEMORY_ALLOCATION_FAILED/i;

function answerFor(id: number, error: unknown, message: InspectionMessage): InspectionAnswer {
  if (error instanceof FailureError) return { id, ok: false, failure: { ...error.failure, message: boundText(error.failure.message, 1000) } };
  const text = error instanceof Error ? error.message : String(error);
  if (outOfMemory.test(text) || (error as { code?: unknown })?.code === 'ERR_MEMORY_ALLOCATION_FAILED' || error instanceof RangeError && /array buffer|allocation/i.test(text)) {
    return { id, ok: false, failure: { code: 'INPUT_LIMIT', message: 'reading it needs more memory than validation may use (setting INGEST_INSPECT_MEMORY_MB); it cannot be ingested as it is' } };
  }
  // A defect of ours, not something the upload said.
  if (error instanceof TypeError || error instanceof ReferenceError || error instanceof SyntaxError) {
    // To the app's log (this process's stderr is the app's), bounded: the message may quote the upload.
    console.error(`inspector: unexpected ${error.name}: ${boundText(redactLocalPaths(error.stack ?? text, sourcePathNames(message.request.path, message.request.shownAs)), 2000)}`);
    return { id, ok: false, failure: { code: 'INTERNAL', message: 'an unexpected error occurred while validating it; the service logs have the details' } };
  }
  // GDAL's own error about the file: shown, with the local path and any signed URL hidden.
  const detail = boundText(redactLocalPaths(text, sourcePathNames(message.request.path, message.request.shownAs)), 400);
  return { id, ok: false, failure: { code: 'INVALID_INPUT', message: `GDAL cannot read it (${detail}); the file is probably corrupt — upload it again` } };
}

configureGdal(process.env);

/** Answers on the channel; a channel the app already closed means nobody is waiting. */
function reply(answer: InspectionAnswer): void {
  process.send?.(answer, (error: Error | null) => {
    if (error) process.exit(0);
  });
}

process.on('message', (raw: unknown) => {
  const message = raw as InspectionMessage;
  void inspectUntrustedSource(message.request).then(
    (info) => reply({ id: message.id, ok: true, info }),
    (error: unknown) => reply(answerFor(message.id, error, message)),
  );
});
// The app went away (or closed the channel): nothing is left to answer.
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true }, (error: Error | null) => {
  if (error) process.exit(0);
});
