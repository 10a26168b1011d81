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
      if ('collection' in after && !known(after.collection)) issues.push({ path: `schedules.${index}.after.${afterIndex}.collection`, message: `names collection "${after.collection}", which has no definition` });
    });
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

/** Why a schedule's cron or time zone cannot be used, with the field at fault, or `null`. */
export function findCronProblem(cron: string, timeZone: string, now: Date): { field: 'cron' | 'timeZone'; message: string } | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    return { field: 'timeZone', message: 'is not an IANA time zone (such as "Europe/Berlin" or "UTC")' };
  }
  let runs: Date[];
  try {
    // Five fields only: a seconds field would allow a schedule that fires every second.
    runs = new Cron(cron, { timezone: timeZone, paused: true, mode: '5-part' }).nextRuns(12, now);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, '').slice(0, 200) : 'cannot be read';
    return { field: 'cron', message: `is not a five-field cron expression (minute hour day-of-month month day-of-week): ${reason}` };
  }
  const first = runs[0];
  if (!first || first.getTime() - now.getTime() > maxFirstRunDays * 86_400_000) return { field: 'cron', message: `never fires (no run within ${maxFirstRunDays} days)` };
  for (let i = 1; i < runs.length; i++) {
    const gapMinutes = (runs[i]!.getTime() - runs[i - 1]!.getTime()) / 60_000;
    if (gapMinutes < minScheduleGapMinutes) return { field: 'cron', message: `fires every ${gapMinutes} minute${gapMinutes === 1 ? '' : 's'} at times; a schedule may fire at most every ${minScheduleGapMinutes} minutes` };
  }
  return null;
}
