/**
 * The checks of a collection definition that need more than its own shape: the service's
 * settings (allowed containers, the webhook allowlist), the other collections (a derivation or
 * an "after" naming an unknown collection, a derived-from chain that loops back, two collections
 * claiming the same source prefix), and cron expressions (one that never fires, or fires more
 * often than every `minScheduleGapMinutes`). Every problem names its path in the definition
 * (`derivedFrom.collection`, `schedules.0.cron`), as a 400's `fields`. Pure but for the clock it
 * is given; croner parses cron expressions (the host's timer trigger uses it too).
 */
import { Cron } from 'croner';
import { ingestOptionsSchema, defaultCollectionId } from '../pipeline/options.js';
import { parseSourcePath } from '../pipeline/source.path.js';
import { collectionDefinitionSchema, collectionIdPattern, type CollectionDefinition } from './definition.schema.js';
import { findWebhookUrlProblem, type WebhookPolicy } from './webhook.policy.js';

export interface DefinitionIssue {
  /** Dotted path in the definition (`sources.0.container`); `body` for the whole. */
  path: string;
  message: string;
}

export interface DefinitionContext {
  sourceContainers: readonly string[];
  webhooks: WebhookPolicy;
  /** Every other collection's current definition, by id (the one being written is left out). */
  others: ReadonlyMap<string, CollectionDefinition>;
  now: Date;
}

/** A schedule may not fire more often than this: a batch per second would be a denial of service on the app itself. */
export const minScheduleGapMinutes = 5;
/** It must fire within this long: a cron for 30 February is a schedule that silently never runs. */
const maxFirstRunDays = 366;

export type DefinitionCheck = { ok: true; definition: CollectionDefinition } | { ok: false; issues: DefinitionIssue[] };

const pathOf = (path: readonly PropertyKey[]): string => (path.length ? path.map(String).join('.') : 'body');

export function validateDefinition(id: string, raw: unknown, context: DefinitionContext): DefinitionCheck {
  if (!collectionIdPattern.test(id)) return { ok: false, issues: [{ path: 'id', message: 'must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit' }] };
  const parsed = collectionDefinitionSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: parsed.error.issues.slice(0, 20).map((issue) => ({ path: pathOf(issue.path), message: issue.message })) };
  const definition = parsed.data;
  const issues: DefinitionIssue[] = [];
  const known = (name: string): boolean => name === defaultCollectionId || name === id || context.others.has(name);

  definition.sources.forEach((source, index) => {
    if (!context.sourceContainers.includes(source.container)) {
      issues.push({ path: `sources.${index}.container`, message: `is not a source container; collections may read only from ${context.sourceContainers.map((name) => `"${name}"`).join(', ')}` });
      return;
    }
    const claimedBy = [...context.others].find(([, other]) => other.sources.some((rule) => rule.container === source.container && rule.prefix === source.prefix));
    if (claimedBy) issues.push({ path: `sources.${index}.prefix`, message: `${source.container}/${source.prefix} already feeds collection "${claimedBy[0]}"; one source prefix feeds one collection` });
    const twin = definition.sources.findIndex((rule) => rule.container === source.container && rule.prefix === source.prefix);
    if (twin !== index) issues.push({ path: `sources.${index}.prefix`, message: `repeats sources.${twin}` });
  });

  const options = ingestOptionsSchema.safeParse(definition.options);
  if (!options.success) for (const issue of options.error.issues) issues.push({ path: `options.${pathOf(issue.path)}`, message: issue.message });

  if (definition.derivedFrom) {
    const from = definition.derivedFrom.collection;
    if (from === id) issues.push({ path: 'derivedFrom.collection', message: 'a collection cannot derive from itself' });
    else if (!known(from)) issues.push({ path: 'derivedFrom.collection', message: `names collection "${from}", which has no definition` });
    else {
      const cycle = findDerivationCycle(id, from, context.others);
      if (cycle) issues.push({ path: 'derivedFrom.collection', message: `makes a cycle: ${cycle.join(' → ')}` });
    }
  }

  const names = new Set<string>();
  definition.schedules.forEach((schedule, index) => {
    if (names.has(schedule.name)) issues.push({ path: `schedules.${index}.name`, message: `repeats the schedule name "${schedule.name}"` });
    names.add(schedule.name);
    const cronProblem = findCronProblem(schedule.cron, schedule.timeZone, context.now);
    if (cronProblem) issues.push({ path: `schedules.${index}.${cronProblem.field}`, message: cronProblem.message });
    if (schedule.source !== undefined) {
      const source = parseSourcePath(schedule.source.endsWith('/') ? `${schedule.source}x` : schedule.source, context.sourceContainers);
      if (!source.ok) issues.push({ path: `schedules.${index}.source`, message: source.problem });
    } else if (definition.sources.length === 0) {
      issues.push({ path: `schedules.${index}.source`, message: 'is needed: the collection has no sources to take a default from' });
    }
    schedule.after.forEach((after, afterIndex) => {
      if (!('collection' in after)) return;
      const path = `schedules.${index}.after.${afterIndex}.collection`;
      // Its own batches make its own collection's jobs: waiting on itself, the first run would wait for itself for ever.
      if (after.collection === id) issues.push({ path, message: 'a schedule cannot wait for its own collection' });
      else if (!known(after.collection)) issues.push({ path, message: `names collection "${after.collection}", which has no definition` });
      else {
        const cycle = findAfterCycle(id, after.collection, definition, context.others);
        if (cycle) issues.push({ path, message: `makes a cycle of schedules waiting for each other: ${cycle.join(' → ')}` });
      }
    });
    const dependencies = new Set(schedule.after.map((after) => JSON.stringify(after)));
    if (dependencies.size < schedule.after.length) issues.push({ path: `schedules.${index}.after`, message: 'names one dependency twice' });
  });

  definition.notifications.webhooks.forEach((webhook, index) => {
    const problem = findWebhookUrlProblem(webhook.url, context.webhooks);
    if (problem) issues.push({ path: `notifications.webhooks.${index}.url`, message: problem });
  });

  return issues.length ? { ok: false, issues } : { ok: true, definition };
}

/**
 * The derived-from chain from `id` through `from`, when it comes back to `id` (or loops among
 * others): `[id, from, …, id]`, or `undefined`. Each collection derives from at most one, so the
 * chain is a path and the walk ends within as many steps as there are collections.
 */
export function findDerivationCycle(id: string, from: string, others: ReadonlyMap<string, CollectionDefinition>): string[] | undefined {
  const chain = [id];
  let next: string | undefined = from;
  while (next !== undefined) {
    if (chain.includes(next)) return [...chain, next];
    chain.push(next);
    next = others.get(next)?.derivedFrom?.collection;
  }
  return undefined;
}

/**
 * Collections whose schedules wait for `from` ("after"), walked from `id`'s schedule: the path back
 * to `id` when the waits loop (`[id, from, …, id]`), or `undefined`. Breadth-first over at most
 * every collection once, so a definition with many waits cannot make the walk long.
 */
export function findAfterCycle(id: string, from: string, definition: CollectionDefinition, others: ReadonlyMap<string, CollectionDefinition>): string[] | undefined {
  const waitsOf = (collection: string): string[] => {
    const schedules = collection === id ? definition.schedules : (others.get(collection)?.schedules ?? []);
    return [...new Set(schedules.flatMap((schedule) => schedule.after.flatMap((after) => ('collection' in after ? [after.collection] : []))))];
  };
  const cameFrom = new Map<string, string>([[from, id]]);
  const queue = [from];
  while (queue.length > 0) {
    const collection = queue.shift()!;
    for (const next of waitsOf(collection)) {
      if (next === id) {
        const chain: string[] = [];
        for (let step = collection; step !== id; step = cameFrom.get(step)!) chain.push(step);
        return [id, ...chain.reverse(), id];
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, collection);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/** One field of a standard cron: comma-separated `*`, numbers or three-letter names, ranges and steps; no `L`, `W`, `#` or `?`. */
const cronFieldPattern = /^(?:\*|\d{1,2}|[a-z]{3})(?:-(?:\d{1,2}|[a-z]{3}))?(?:\/\d{1,2})?(?:,(?:\*|\d{1,2}|[a-z]{3})(?:-(?:\d{1,2}|[a-z]{3}))?(?:\/\d{1,2})?)*$/i;

/** Why a schedule's cron or time zone cannot be used, with the field at fault, or `null`. */
export function findCronProblem(cron: string, timeZone: string, now: Date): { field: 'cron' | 'timeZone'; message: string } | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    return { field: 'timeZone', message: 'is not an IANA time zone (such as "Europe/Berlin" or "UTC")' };
  }
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) return { field: 'cron', message: `is not a five-field cron expression (minute hour day-of-month month day-of-week): it has ${fields.length} fields; seconds and years are not taken` };
  const extension = fields.find((field) => !cronFieldPattern.test(field));
  if (extension !== undefined) return { field: 'cron', message: `field "${extension.slice(0, 20)}" is not standard cron: use numbers, names (MON, JAN), "*", "-", "/" and ","; extensions such as L, W, # and ? are not taken` };
  let runs: Date[];
  let cronner: Cron;
  try {
    // Five fields only: a seconds field would allow a schedule that fires every second.
    cronner = new Cron(cron, { timezone: timeZone, paused: true, mode: '5-part' });
    runs = cronner.nextRuns(60, now);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, '').slice(0, 200) : 'cannot be read';
    return { field: 'cron', message: `is not a five-field cron expression (minute hour day-of-month month day-of-week): ${reason}` };
  }
  const first = runs[0];
  if (!first || first.getTime() - now.getTime() > maxFirstRunDays * 86_400_000) return { field: 'cron', message: `never fires (no run within ${maxFirstRunDays} days)` };
  // At least once a year in every year, whatever today is: probe a run after every month of a
  // full leap cycle, so "29 February only" is refused every day, not only on days far from one.
  for (let month = 1; month <= 50; month++) {
    const probe = new Date(now.getTime() + month * 30 * 86_400_000);
    const next = cronner.nextRun(probe);
    if (!next || next.getTime() - probe.getTime() > maxFirstRunDays * 86_400_000) return { field: 'cron', message: `fires less often than once a year (no run within ${maxFirstRunDays} days after ${probe.toISOString().slice(0, 10)})` };
  }
  for (let i = 1; i < runs.length; i++) {
    const gapMinutes = (runs[i]!.getTime() - runs[i - 1]!.getTime()) / 60_000;
    if (gapMinutes < minScheduleGapMinutes) return { field: 'cron', message: `fires every ${gapMinutes} minute${gapMinutes === 1 ? '' : 's'} at times; a schedule may fire at most every ${minScheduleGapMinutes} minutes` };
  }
  return null;
}
