/** Text the CLI prints for people (`--json` prints the API's own objects instead). Pure. */
import type { BatchView, BulkRetryJob, JobView, Problem, TileEntry } from './jobs.api.js';

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `2026-11-30T08:01:02.345Z` → `2026-11-30 08:01:02Z`. */
export function formatTime(iso: string | null): string {
  if (!iso) return '-';
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso : `${time.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** `1.2 s`, `3 min 4 s`; `-` without both ends. */
export function formatDuration(startIso: string | null, endIso: string | null): string {
  if (!startIso || !endIso) return '-';
  return formatMilliseconds(Date.parse(endIso) - Date.parse(startIso));
}

/** `0.1 s`, `3 min 4 s`; `-` when unknown. */
export function formatMilliseconds(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A tile's work: as the activity or the worker measured it, else from its start to its end. Queue wait is not in it. */
export function formatTileWork(tile: Pick<TileEntry, 'startedAt' | 'endedAt' | 'workMs'>): string {
  return tile.workMs !== null ? formatMilliseconds(tile.workMs) : formatDuration(tile.startedAt, tile.endedAt);
}

/** How long a tile waited for an activity slot or the worker (`-` while it still waits, or when the service does not say). */
export function formatTileWait(tile: Pick<TileEntry, 'queuedAt' | 'startedAt' | 'waitMs'>): string {
  return tile.waitMs !== null ? formatMilliseconds(tile.waitMs) : formatDuration(tile.queuedAt, tile.startedAt);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(1)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** `7/9 done, 1 failed`: tiles count as they finish, in any order. */
export function formatTileCounts(tiles: JobView['tiles']): string {
  return `${tiles.done}/${tiles.total} done${tiles.failed ? `, ${tiles.failed} failed` : ''}`;
}

export function formatJobTable(jobs: readonly JobView[]): string {
  if (jobs.length === 0) return 'No jobs match.';
  return formatTable(
    ['ID', 'STATUS', 'STAGE', 'TILES', 'COLLECTION', 'CREATED', 'SOURCE'],
    jobs.map((job) => [job.id, job.status, job.stage, formatTileCounts(job.tiles), job.collection ?? '-', formatTime(job.createdTime), job.source ?? '-']),
  );
}

export function formatJobDetail(job: JobView): string {
  const lines = [
    `Job ${job.id}`,
    `  status      ${job.status} (${job.stage})`,
    `  source      ${job.source ?? '-'}`,
    `  collection  ${job.collection ?? '-'}${job.definitionVersion !== null ? ` (definition version ${job.definitionVersion})` : ''}`,
    `  route       ${job.route ? `${job.route}${job.layout ? `, ${job.layout}` : ''}${job.routeReason ? ` (${job.routeReason})` : ''}` : '-'}`,
    `  tiles       ${formatTileCounts(job.tiles)}; ${job.itemsRegistered} STAC items registered`,
    `  attempt     ${job.attempt}${job.previousAttempt ? ` (after ${job.previousAttempt})` : ''}`,
    `  created     ${formatTime(job.createdTime)}, last update ${formatTime(job.lastUpdatedTime)}`,
  ];
  if (job.errors.length > 0) {
    lines.push(`  errors      ${job.errorCount}${job.errorCount > job.errors.length ? ` (first ${job.errors.length} shown)` : ''}`);
    for (const failure of job.errors) lines.push(`    ${failure.code}${failure.itemId ? ` ${failure.itemId}` : ''}: ${failure.message}`);
  }
  const { output } = job;
  if (output && 'partial' in output) {
    lines.push(`  output      partial: ${output.tiles.length} COG tiles made (${formatBytes(output.bytesOut)}), ${output.failedTiles.length} failed`);
    for (const failure of output.failedTiles) lines.push(`    ${failure.code}${failure.itemId ? ` ${failure.itemId}` : ''}: ${failure.message}`);
  } else if (output) {
    lines.push(`  output      ${output.tiles.length} COG tiles, ${formatBytes(output.bytesIn)} in, ${formatBytes(output.bytesOut)} out`);
    if (output.collection) lines.push(`  collection  ${output.collection.collectionUrl} (${output.collection.itemCount} items)`);
    else if (!job.quarantine) lines.push('  collection  finalized by its batch');
  }
  if (job.quarantine) {
    lines.push(`  quarantine  a quality gate of definition version ${job.quarantine.definitionVersion} stopped it before publishing:`);
    for (const violation of job.quarantine.violations) lines.push(`    ${violation.rule}: ${violation.message} (measured ${violation.measured}, allowed ${violation.limit})`);
    const { decision } = job.quarantine;
    if (decision) lines.push(`  decision    ${decision.decision === 'approve' ? 'approved' : 'rejected'} (${decision.id}, ${decision.status})`);
    else lines.push(`\nPublish its kept outputs: raster-ingest approve ${job.id}\nDelete them: raster-ingest reject ${job.id}`);
  }
  for (const [index, derived] of job.derived.entries()) {
    const label = index === 0 ? '  derived   ' : '            ';
    lines.push(`${label}  ${derived.collection} (${derived.product}): ${derived.status === 'completed' ? `${derived.items} item${derived.items === 1 ? '' : 's'} published` : `failed (${derived.failureCount} failure${derived.failureCount === 1 ? '' : 's'})`}, run ${derived.instanceId}`);
    for (const failure of derived.failures) lines.push(`    ${failure.code}${failure.itemId ? ` ${failure.itemId}` : ''}: ${failure.message}${failure.retryable ? ' (a retry may help)' : ''}`);
  }
  if (job.superseded) lines.push(`  superseded  ${job.superseded.message}`);
  if (job.retry.offered) lines.push(`\nRe-run what failed: raster-ingest retry ${job.id}`);
  else if (job.status === 'Failed' || job.status === 'Terminated') lines.push(`\nNo retry: ${job.retry.reason ?? 'a retry cannot help this job'}`);
  return lines.join('\n');
}

export function formatTileTable(tiles: readonly TileEntry[]): string {
  if (tiles.length === 0) return 'No tiles (yet).';
  return formatTable(
    ['#', 'ITEM', 'STATE', 'ATTEMPTS', 'QUEUED', 'DURATION', 'ERROR'],
    tiles.map((tile) => [
      String(tile.index),
      tile.itemId,
      tile.state,
      String(tile.attempts),
      formatTileWait(tile),
      formatTileWork(tile),
      tile.error ? `${tile.error.code}: ${tile.error.message}` : '',
    ]),
  );
}

export function formatBulkRetry(jobs: readonly BulkRetryJob[], dryRun: boolean): string {
  if (jobs.length === 0) return dryRun ? 'No job would be retried.' : 'No job was retried.';
  // Without an outcome (an older service), every listed job counts as retried (or, in a dry run, would be).
  const outcomeOf = (job: BulkRetryJob): string => job.outcome ?? (dryRun ? 'dry-run' : 'started');
  const table = formatTable(
    ['JOB', 'OUTCOME', 'RETRIED AS', 'ERROR CODES', 'SOURCE', 'REASON'],
    jobs.map((job) => {
      const outcome = outcomeOf(job);
      return [job.id, outcome === 'dry-run' ? 'would retry' : outcome, job.retriedAs ?? '-', job.errorCodes.join(',') || '-', job.source ?? '-', job.reason ?? ''];
    }),
  );
  const plural = (count: number): string => `${count} job${count === 1 ? '' : 's'}`;
  const retried = jobs.filter((job) => outcomeOf(job) === (dryRun ? 'dry-run' : 'started')).length;
  const skipped = jobs.length - retried;
  const not = skipped ? `, ${skipped} not (see OUTCOME and REASON)` : '';
  if (dryRun) return `${table}\n\n${plural(retried)} would be retried${not} (dry run: nothing was started).`;
  return `${table}\n\n${plural(retried)} retried${not}.`;
}

/** `45 s`, `3 min 5 s`, `2 h 7 min`; `-` when unknown. */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '-';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** `7/12 ended: 5 done, 1 failed, 1 skipped`: sources count as they end, in any order. */
export function formatBatchCounts(counts: BatchView['counts']): string {
  const ended = counts.done + counts.failed + counts.skipped;
  return `${ended}/${counts.total} ended: ${counts.done} done, ${counts.failed} failed, ${counts.skipped} skipped`;
}

/** A batch that ended with every source ingested or skipped. */
export function batchSucceeded(batch: BatchView): boolean {
  return batch.status === 'Completed' && batch.counts.failed === 0;
}

export function formatBatchTable(batches: readonly BatchView[]): string {
  if (batches.length === 0) return 'No batches match.';
  return formatTable(
    ['ID', 'STATUS', 'STAGE', 'TOTAL', 'DONE', 'FAILED', 'SKIPPED', 'RUNNING', 'RATE/MIN', 'LEFT', 'CREATED', 'SELECTION'],
    batches.map((batch) => [
      batch.id,
      batch.status,
      batch.stage,
      String(batch.counts.total),
      String(batch.counts.done),
      String(batch.counts.failed),
      String(batch.counts.skipped),
      String(batch.counts.running),
      batch.throughputPerMinute === null ? '-' : String(batch.throughputPerMinute),
      formatSeconds(batch.estimatedSecondsLeft),
      formatTime(batch.createdTime),
      batch.selection ?? '-',
    ]),
  );
}

export function formatBatchDetail(batch: BatchView): string {
  const { counts } = batch;
  const rate = batch.throughputPerMinute === null ? '-' : `${batch.throughputPerMinute} sources/min`;
  const lines = [
    `Batch ${batch.id}`,
    `  status      ${batch.status} (${batch.stage}${batch.chunk ? `, chunk ${batch.chunk + 1}` : ''})`,
    `  selection   ${batch.selection ?? '-'}`,
    `  collection  ${batch.collection ?? '-'}`,
    `  sources     ${counts.total} in all: ${counts.done} done, ${counts.failed} failed, ${counts.skipped} skipped, ${counts.running} running${counts.missing ? `; ${counts.missing} manifest entries missing` : ''}`,
    `  throughput  ${rate}${batch.estimatedSecondsLeft === null ? '' : `, about ${formatSeconds(batch.estimatedSecondsLeft)} left`}`,
    `  attempt     ${batch.attempt}${batch.previousAttempt ? ` (after ${batch.previousAttempt})` : ''}`,
    `  created     ${formatTime(batch.createdTime)}, last update ${formatTime(batch.lastUpdatedTime)}`,
  ];
  if (batch.reason) lines.push(`  reason      ${batch.reason}`);
  if (batch.failures.length > 0) {
    lines.push(`  failures    ${counts.failed}${counts.failed > batch.failures.length ? ` (first ${batch.failures.length} shown)` : ''}`);
    for (const failure of batch.failures) lines.push(`    ${failure.code} ${failure.source}${failure.jobId ? ` (${failure.jobId})` : ''}: ${failure.message}`);
  }
  if (batch.missing.length > 0) {
    lines.push(`  missing     ${counts.missing}${counts.missing > batch.missing.length ? ` (first ${batch.missing.length} shown)` : ''}`);
    for (const entry of batch.missing) lines.push(`    ${entry}`);
  }
  const { output } = batch;
  if (output) {
    const mosaic = !output.mosaic
      ? ''
      : 'error' in output.mosaic
        ? `; collection mosaic failed: ${output.mosaic.error}`
        : 'requested' in output.mosaic
          ? `; collection mosaic requested (run ${output.mosaic.requested})`
          : `; collection mosaic ${output.mosaic.mosaics.join(', ')}`;
    lines.push(`  output      ${output.chunks} chunk${output.chunks === 1 ? '' : 's'} into ${output.collection}${mosaic}`);
  }
  lines.push(`
Its jobs: raster-ingest jobs --batch ${batch.id}`);
  if (counts.failed > 0 && ['Completed', 'Failed', 'Terminated'].includes(batch.status)) lines.push(`Re-run its failed sources: raster-ingest retry --batch ${batch.id}`);
  return lines.join('\n');
}

/** An error answer for a person: the problem's title and detail, and the fields at fault. */
export function formatProblem(request: string, status: number, problem: Problem): string {
  const head = `${request} answered ${status}${problem.title ? ` ${problem.title}` : ''}`;
  const detail = problem.detail ? `\n  ${problem.detail}` : '';
  const fields = problem.fields?.length ? `\n  fields: ${problem.fields.join(', ')}` : '';
  return `${head}${detail}${fields}`;
}
