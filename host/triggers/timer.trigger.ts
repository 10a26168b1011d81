import { performance } from 'node:perf_hooks';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { Cron } from 'croner';
import { durableClientInputs, type HostEndpoints } from '../http/client.binding.js';
import { singleAttemptStorageOptions, statusOf, withStorageRetry } from '../storage/retry.js';
import { invokeRegistration, type Registration } from '../worker.shim.js';

/**
 * Timer triggers as the Functions host runs them (azure-webjobs-sdk-extensions' TimerListener):
 * NCRONTAB schedules with seconds, `%Setting%` schedules, `runOnStartup`, and schedule monitoring
 * (`useMonitor`): the last and next occurrence are stored in `azure-webjobs-hosts`, so an occurrence
 * missed while the host was down runs once at start, with `isPastDue: true`.
 */

/** .NET's DateTime.MinValue: what Azure stores as `Last` before a timer first fires. */
const neverIso = '0001-01-01T00:00:00.000Z';
/** Longest setTimeout Node.js keeps (2^31 - 1 ms); longer waits are re-armed in steps. */
const maxTimeoutMs = 2_147_483_647;
const statusContainerName = 'azure-webjobs-hosts';

/** The schedule status Azure keeps per timer (`timers/{hostId}/{function}/status`). */
export interface ScheduleStatus {
  Last: string;
  Next: string;
  LastUpdated: string;
}

/**
 * Replaces each `%Name%` in a binding expression with that app setting, as the Functions host
 * does (Azure refuses to index the function when the setting is missing, and so does this host).
 */
export function resolveAppSettings(expression: string, settings: Record<string, string>, where: string): string {
  return expression.replace(/%([^%]+)%/g, (_, name: string) => {
    const value = settings[name];
    if (value === undefined || value.trim() === '') throw new Error(`${where}: '%${name}%' does not resolve to a value: set the app setting ${name}`);
    return value;
  });
}

/**
 * Parses a six-field NCRONTAB expression ({second} {minute} {hour} {day} {month} {day-of-week}).
 * Day of month and day of week must both match, as in NCrontab; times are UTC unless a time zone
 * is given (WEBSITE_TIME_ZONE, an IANA name on Linux).
 */
export function parseSchedule(expression: string, timeZone?: string): Cron {
  if (/^\s*(\d+\.)?\d{1,2}:\d{2}(:\d{2})?\s*$/.test(expression)) {
    throw new Error(`Timer schedule "${expression}" is a TimeSpan, which Azure accepts only on App Service plans; use a six-field CRON expression such as "0 */5 * * * *"`);
  }
  // NCrontab takes English day and month names of any length; croner takes three letters.
  const names = /\b(sunday|monday|tuesday|wednesday|thursday|friday|saturday|january|february|march|april|june|july|august|september|october|november|december)\b/gi;
  const pattern = expression.trim().replace(names, (name) => name.slice(0, 3));
  try {
    return new Cron(pattern, { mode: '6-part', domAndDow: true, sloppyRanges: true, paused: true, timezone: timeZone ?? 'Etc/UTC' });
  } catch (error) {
    throw new Error(`Timer schedule "${expression}" is not a six-field NCRONTAB expression ({second} {minute} {hour} {day} {month} {day-of-week}): ${(error as Error).message}`);
  }
}

/** The next occurrence strictly after `after`. */
export function nextOccurrence(schedule: Cron, after: Date): Date {
  const next = schedule.nextRun(after);
  if (!next) throw new Error(`Timer schedule "${schedule.getPattern() ?? ''}" has no future occurrence`);
  return next;
}

/** Azure's default for `useMonitor`: on for schedules that recur less often than once a minute. */
export function defaultUseMonitor(schedule: Cron, now: Date): boolean {
  const first = nextOccurrence(schedule, now);
  return nextOccurrence(schedule, first).getTime() - first.getTime() > 60_000;
}

function isSet(iso: string | undefined): iso is string {
  return iso !== undefined && iso !== '' && Date.parse(iso) > Date.parse(neverIso);
}

/**
 * Azure's start-up check (ScheduleMonitor.CheckPastDueAsync): recomputes the stored next occurrence
 * from `Last` (else `LastUpdated`); if the schedule changed, the status is rebased (on now when the
 * recomputed occurrence is already past, so a schedule change is not mistaken for a missed one).
 * Past due when now is after the recorded next occurrence.
 */
export function checkPastDue(stored: ScheduleStatus | undefined, schedule: Cron, now: Date): { status: ScheduleStatus; pastDue: boolean; changed: boolean } {
  let status: ScheduleStatus;
  let changed = false;
  if (!stored) {
    status = { Last: neverIso, Next: nextOccurrence(schedule, now).toISOString(), LastUpdated: now.toISOString() };
    changed = true;
  } else {
    const base = isSet(stored.Last) ? new Date(stored.Last) : isSet(stored.LastUpdated) ? new Date(stored.LastUpdated) : now;
    let expected = nextOccurrence(schedule, base);
    let lastUpdated = base;
    status = { ...stored };
    if (Date.parse(stored.Next) !== expected.getTime()) {
      if (now.getTime() > expected.getTime()) {
        expected = nextOccurrence(schedule, now);
        lastUpdated = now;
      }
      status = { Last: neverIso, Next: expected.toISOString(), LastUpdated: lastUpdated.toISOString() };
      changed = true;
    }
  }
  return { status, pastDue: now.getTime() > Date.parse(status.Next), changed };
}

/** The timer object the Functions host passes (PascalCase; @azure/functions camel-cases it). */
function timerInfo(status: ScheduleStatus | undefined, pastDue: boolean): string {
  return JSON.stringify({ Schedule: { AdjustForDST: true }, ScheduleStatus: status ?? null, IsPastDue: pastDue });
}

export interface TimerTriggerOptions {
  registrations: Iterable<Registration>;
  /** App settings, for `%Name%` schedules. */
  settings: Record<string, string>;
  /** Storage for schedule status (AzureWebJobsStorage). */
  hostStorage: string;
  hostId: string;
  endpoints: () => HostEndpoints;
  log: (line: string) => void;
}

interface TimerState {
  registration: Registration;
  expression: string;
  schedule: Cron;
  runOnStartup: boolean;
  useMonitor: boolean;
  status: ScheduleStatus;
  timeout?: NodeJS.Timeout;
}

/** Runs the app's timer-triggered functions on their schedules. */
export class TimerTriggers {
  private readonly timers: TimerState[] = [];
  private readonly status: ContainerClient;
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: TimerTriggerOptions) {
    const timeZone = options.settings['WEBSITE_TIME_ZONE'] || undefined;
    const now = new Date();
    for (const registration of options.registrations) {
      if (registration.trigger.type.toLowerCase() !== 'timertrigger') continue;
      const where = `Function '${registration.name}'`;
      const expression = resolveAppSettings(String(registration.trigger['schedule'] ?? ''), options.settings, where);
      const schedule = parseSchedule(expression, timeZone);
      const useMonitor = typeof registration.trigger['useMonitor'] === 'boolean' ? registration.trigger['useMonitor'] : defaultUseMonitor(schedule, now);
      this.timers.push({
        registration,
        expression,
        schedule,
        runOnStartup: registration.trigger['runOnStartup'] === true,
        useMonitor,
        status: { Last: neverIso, Next: nextOccurrence(schedule, now).toISOString(), LastUpdated: now.toISOString() },
      });
    }
    this.status = BlobServiceClient.fromConnectionString(options.hostStorage, singleAttemptStorageOptions).getContainerClient(statusContainerName);
  }

  get count(): number {
    return this.timers.length;
  }

  /** One line per timer: its schedule and next occurrences. */
  describe(): string[] {
    return this.timers.map((timer) => {
      const later = timer.schedule.nextRuns(2, new Date(timer.status.Next)).map((date) => date.toISOString());
      return `${timer.registration.name}: timerTrigger (${timer.expression}) next ${[timer.status.Next, ...later].join(', ')}`;
    });
  }

  /** Checks for missed occurrences, runs past-due and runOnStartup invocations, then arms the timers. */
  async start(): Promise<void> {
    if (this.timers.some((timer) => timer.useMonitor)) await withStorageRetry('creating the timer status container', () => this.status.createIfNotExists());
    for (const timer of this.timers) {
      const now = new Date();
      let pastDue = false;
      if (timer.useMonitor) {
        const checked = checkPastDue(await this.readStatus(timer), timer.schedule, now);
        timer.status = checked.status;
        pastDue = checked.pastDue;
        if (checked.changed) await this.writeStatus(timer);
      }
      if (pastDue) {
        this.options.log(`Function '${timer.registration.name}' is past due (missed ${timer.status.Next} while the host was down): running it now`);
        this.track(this.invoke(timer, now, { pastDue: true, runOnStartup: false }).then(() => this.arm(timer)));
      } else if (timer.runOnStartup) {
        this.track(this.invoke(timer, now, { pastDue: false, runOnStartup: true }).then(() => this.arm(timer)));
      } else {
        this.arm(timer);
      }
    }
  }

  /** Stops scheduling and waits for running invocations. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer.timeout);
    await Promise.allSettled([...this.running]);
  }

  private track(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  private arm(timer: TimerState): void {
    if (this.stopped) return;
    const delay = Math.max(1, Date.parse(timer.status.Next) - Date.now());
    timer.timeout = setTimeout(() => {
      timer.timeout = undefined;
      // A long wait is re-armed in steps; the occurrence is due only once Next has passed.
      if (Date.now() < Date.parse(timer.status.Next)) return this.arm(timer);
      this.track(this.invoke(timer, new Date(), { pastDue: false, runOnStartup: false }).then(() => this.arm(timer)));
    }, Math.min(delay, maxTimeoutMs));
  }

  /** Invokes the function once (failures are logged, never retried: as in Azure) and records the occurrence. */
  private async invoke(timer: TimerState, invokedAt: Date, reason: { pastDue: boolean; runOnStartup: boolean }): Promise<void> {
    if (this.stopped) return;
    const { registration } = timer;
    const started = performance.now();
    try {
      await invokeRegistration(registration, {
        inputData: [{ name: registration.triggerName, data: { json: timerInfo(timer.useMonitor ? timer.status : undefined, reason.pastDue) } }, ...durableClientInputs(registration, this.options.endpoints())],
      });
      this.options.log(`Executed 'Functions.${registration.name}' (Succeeded, timer${reason.pastDue ? ', past due' : reason.runOnStartup ? ', on startup' : ''}, Duration=${(performance.now() - started).toFixed(0)}ms)`);
    } catch (error) {
      this.options.log(`Executed 'Functions.${registration.name}' (Failed, timer, Duration=${(performance.now() - started).toFixed(0)}ms): ${error instanceof Error ? error.message : String(error)}`);
    }
    // As in Azure: a timer that fires a little early counts as its scheduled occurrence, so the
    // same Next is never stored twice (which would make a restart run it again).
    const scheduled = Date.parse(timer.status.Next);
    const occurrence = !reason.pastDue && !reason.runOnStartup && scheduled > invokedAt.getTime() ? new Date(scheduled) : invokedAt;
    timer.status = { Last: occurrence.toISOString(), Next: nextOccurrence(timer.schedule, occurrence).toISOString(), LastUpdated: occurrence.toISOString() };
    if (timer.useMonitor) await this.writeStatus(timer);
  }

  private blobName(timer: TimerState): string {
    return `timers/${this.options.hostId}/${timer.registration.name}/status`;
  }

  private async readStatus(timer: TimerState): Promise<ScheduleStatus | undefined> {
    try {
      const buffer = await withStorageRetry('reading a timer schedule status', () => this.status.getBlobClient(this.blobName(timer)).downloadToBuffer());
      const parsed = JSON.parse(buffer.toString('utf8')) as Partial<ScheduleStatus>;
      if (typeof parsed.Next !== 'string' || Number.isNaN(Date.parse(parsed.Next))) return undefined;
      return { Last: parsed.Last ?? neverIso, Next: parsed.Next, LastUpdated: parsed.LastUpdated ?? neverIso };
    } catch (error) {
      if (statusOf(error) === 404 || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  private async writeStatus(timer: TimerState): Promise<void> {
    const body = JSON.stringify(timer.status);
    try {
      await withStorageRetry('writing a timer schedule status', () => this.status.getBlockBlobClient(this.blobName(timer)).upload(body, Buffer.byteLength(body)));
    } catch (error) {
      // Best effort, as in Azure: the schedule keeps running from memory.
      this.options.log(`Function '${timer.registration.name}': could not store the timer schedule status: ${(error as Error).message}`);
    }
  }
}
