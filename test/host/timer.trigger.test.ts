import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { checkPastDue, defaultUseMonitor, nextOccurrence, parseSchedule, resolveAppSettings } from '../../host/triggers/timer.trigger.js';
import { projectRoot, startHostProcess, type HostProcess } from './support/host.process.js';

const timerApp = join(projectRoot, 'test/host/fixtures/timer-app');
const never = '0001-01-01T00:00:00.000Z';

describe('timer schedules (NCRONTAB, as Azure reads them)', () => {
  it('resolve %Setting% binding expressions and refuse a missing setting by name', () => {
    expect(resolveAppSettings('%SCHEDULE%', { SCHEDULE: '0 */5 * * * *' }, 'x')).toBe('0 */5 * * * *');
    expect(() => resolveAppSettings('%MISSING%', {}, "Function 'f'")).toThrow("Function 'f': '%MISSING%' does not resolve to a value: set the app setting MISSING");
  });

  it('have six fields with seconds, AND day of month with day of week (NCrontab), and take full names', () => {
    const utc = (iso: string) => new Date(iso);
    expect(nextOccurrence(parseSchedule('0 0 3 * * *'), utc('2026-01-01T03:00:00Z')).toISOString()).toBe('2026-01-02T03:00:00.000Z');
    expect(nextOccurrence(parseSchedule('*/10 * * * * *'), utc('2026-01-01T00:00:01Z')).toISOString()).toBe('2026-01-01T00:00:10.000Z');
    // Friday the 13th: both fields must match (a Vixie cron would take every 13th and every Friday).
    expect(nextOccurrence(parseSchedule('0 0 0 13 * Fri'), utc('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-02-13T00:00:00.000Z');
    expect(nextOccurrence(parseSchedule('0 30 9 * January Monday'), utc('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-01-05T09:30:00.000Z');
    expect(() => parseSchedule('0 3 * * *')).toThrow(/six-field NCRONTAB/);
    expect(() => parseSchedule('01:00:00')).toThrow(/TimeSpan.*App Service/);
  });

  it('are monitored by default only when they recur less often than once a minute', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(defaultUseMonitor(parseSchedule('0 0 3 * * *'), now)).toBe(true);
    expect(defaultUseMonitor(parseSchedule('0 */2 * * * *'), now)).toBe(true);
    expect(defaultUseMonitor(parseSchedule('0 * * * * *'), now)).toBe(false);
    expect(defaultUseMonitor(parseSchedule('*/5 * * * * *'), now)).toBe(false);
  });

  it('are past due when now is after the stored next occurrence, and a changed schedule is rebased instead', () => {
    const daily = parseSchedule('0 0 3 * * *');
    const now = new Date('2026-03-10T12:00:00Z');
    const fresh = checkPastDue(undefined, daily, now);
    expect(fresh).toMatchObject({ pastDue: false, changed: true, status: { Last: never, Next: '2026-03-11T03:00:00.000Z' } });
    const missed = { Last: '2026-03-08T03:00:00.000Z', Next: '2026-03-09T03:00:00.000Z', LastUpdated: '2026-03-08T03:00:00.000Z' };
    expect(checkPastDue(missed, daily, now)).toMatchObject({ pastDue: true, changed: false });
    const upToDate = { Last: '2026-03-10T03:00:00.000Z', Next: '2026-03-11T03:00:00.000Z', LastUpdated: '2026-03-10T03:00:00.000Z' };
    expect(checkPastDue(upToDate, daily, now)).toMatchObject({ pastDue: false, changed: false });
    // Stored under an hourly schedule: the daily one does not count that as a missed occurrence.
    const hourly = { Last: '2026-03-08T03:00:00.000Z', Next: '2026-03-08T04:00:00.000Z', LastUpdated: '2026-03-08T03:00:00.000Z' };
    expect(checkPastDue(hourly, daily, now)).toMatchObject({ pastDue: false, changed: true, status: { Last: never, Next: '2026-03-11T03:00:00.000Z' } });
  });
});

describe('timer triggers on the local host', () => {
  const hosts: HostProcess[] = [];
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.stop();
  });
  const start = async (hub: string, env: Record<string, string>): Promise<HostProcess> => {
    const host = await startHostProcess({ storage: inject('storageConnectionString'), hub, appRoot: timerApp, env });
    hosts.push(host);
    return host;
  };
  /**
   * The fixture's timer functions report each invocation (with the `timer` object they got) in a
   * log line: that line is what the function saw, so the assertions read it.
   */
  const waitForOutput = async (host: HostProcess, pattern: RegExp, count = 1): Promise<string[]> =>
    vi.waitFor(
      () => {
        const matches = host.output().match(new RegExp(pattern.source, 'g')) ?? [];
        if (matches.length < count) throw new Error(`expected ${count} × ${pattern} in:\n${host.output()}`);
        return matches;
      },
      { timeout: 20_000, interval: 50 },
    );
  /** The `timer` object a fixture function logged on its n-th invocation. */
  const loggedTimers = (host: HostProcess, name: string): Array<{ isPastDue: boolean; scheduleStatus: unknown }> =>
    [...host.output().matchAll(new RegExp(`\\[${name}\\] ${name} (\\{.*\\})`, 'g'))].map((match) => JSON.parse(match[1]!) as { isPastDue: boolean; scheduleStatus: unknown });

  it('refuse to start when a %Setting% schedule names a missing setting', async () => {
    await expect(start(`TimerMissing${Date.now() % 1e8}`, {})).rejects.toThrow(/'%TICK_SCHEDULE%' does not resolve to a value: set the app setting TICK_SCHEDULE/);
  });

  it('run on startup, then on their schedule (from an app setting); unmonitored timers get no schedule status', async () => {
    const host = await start(`TimerTick${Date.now() % 1e8}`, { TICK_SCHEDULE: '*/1 * * * * *', TICK_ON_STARTUP: 'true' });
    await waitForOutput(host, /Executed 'Functions\.tick' \(Succeeded, timer, on startup/);
    await waitForOutput(host, /Executed 'Functions\.tick' \(Succeeded, timer, Duration/, 2);
    const timers = loggedTimers(host, 'tick');
    expect(timers[0]).toEqual({ isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: null });
    expect(host.output()).toContain('tick: timerTrigger (*/1 * * * * *) next ');
    expect(host.output()).not.toContain("Executed 'Functions.yearly'");
  });

  it('run a monitored timer once, past due, when its occurrence was missed while the host was down', async () => {
    const hub = `TimerPastDue${Date.now() % 1e8}`;
    const env = { TICK_SCHEDULE: '0 0 0 1 Jan *' };
    let host = await start(hub, env);
    await host.stop();
    const statusBlob = BlobServiceClient.fromConnectionString(inject('storageConnectionString'))
      .getContainerClient('azure-webjobs-hosts')
      .getBlockBlobClient(`timers/localhost-${hub.toLowerCase()}/yearly/status`);
    const stored = JSON.parse((await statusBlob.downloadToBuffer()).toString()) as { Last: string; Next: string; LastUpdated: string };
    expect(stored.Last).toBe(never);
    expect(new Date(stored.Next).getTime()).toBeGreaterThan(Date.now());
    // As if the host had last started two years ago and missed the new year since.
    const twoYearsAgo = new Date(Date.UTC(new Date().getUTCFullYear() - 2, 5, 1));
    const missed = { Last: never, Next: new Date(Date.UTC(twoYearsAgo.getUTCFullYear() + 1, 0, 1)).toISOString(), LastUpdated: twoYearsAgo.toISOString() };
    await statusBlob.upload(JSON.stringify(missed), JSON.stringify(missed).length);

    host = await start(hub, env);
    await waitForOutput(host, /Executed 'Functions\.yearly' \(Succeeded, timer, past due/);
    expect(host.output()).toContain(`Function 'yearly' is past due (missed ${missed.Next}`);
    const [timer] = loggedTimers(host, 'yearly');
    expect(timer).toMatchObject({ isPastDue: true, scheduleStatus: { next: missed.Next, lastUpdated: missed.LastUpdated } });
    await host.stop();
    const after = JSON.parse((await statusBlob.downloadToBuffer()).toString()) as { Last: string; Next: string };
    expect(new Date(after.Last).getTime()).toBeGreaterThan(twoYearsAgo.getTime());
    expect(new Date(after.Next).getTime()).toBeGreaterThan(Date.now());

    // The occurrence is recorded: the next start has nothing past due.
    host = await start(hub, env);
    await host.stop();
    expect(host.output()).not.toContain("Executed 'Functions.yearly'");
  });
});
