import { describe, expect, it } from 'vitest';
import { EventType, flattenActions, retryExpiredField, type HistoryEvent, type OrchestratorState } from '../../host/engine/history.js';
import { retryDelayMs, retryTimedOut } from '../../host/engine/retries.js';
import { lineOf, parseLog } from '../../host/engine/history.log.js';
import { EpisodeState } from '../../host/engine/episode.state.js';
import { HistoryBlob } from '../../host/engine/history.blob.js';
import { InstanceState } from '../../host/engine/instance.state.js';
import { toHonoPath } from '../../host/http/function.routes.js';
import { timeSpanMs } from '../../host/settings.js';
import { encodeKey } from '../../host/storage/task.hub.store.js';
import { compileBlobPath } from '../../host/triggers/blob.trigger.js';

/** The host's pure pieces: route templates, blob paths, the history log format, retry back-off. */
describe('route templates', () => {
  it('turn Functions templates into hono paths', () => {
    expect(toHonoPath('jobs')).toBe('/jobs');
    expect(toHonoPath('jobs/{id}')).toBe('/jobs/:id');
    expect(toHonoPath('items/{id?}')).toBe('/items/:id?');
    expect(toHonoPath('items/{id:int}')).toBe('/items/:id{-?[0-9]+}');
    expect(toHonoPath('items/{id:int?}')).toBe('/items/:id{-?[0-9]+}?');
    expect(toHonoPath('files/{*path}')).toBe('/files/:path{.+}?');
    expect(toHonoPath('a/{b:regex(^x$)}')).toBe('/a/:b');
  });
});

describe('blob trigger paths', () => {
  it('split container and binding data', () => {
    const simple = compileBlobPath('uploads/{name}');
    expect(simple).toMatchObject({ container: 'uploads', prefix: '', parameters: ['name'] });
    expect(simple.pattern.exec('folder/a.tif')?.[1]).toBe('folder/a.tif');
    const typed = compileBlobPath('in/raw/{name}.{ext}');
    expect(typed.prefix).toBe('raw/');
    const match = typed.pattern.exec('raw/scene.1.tif')!;
    expect([match[1], match[2]]).toEqual(['scene', '1.tif']);
    expect(typed.pattern.exec('other/scene.tif')).toBeNull();
  });
});

describe('history log', () => {
  const started = { EventType: EventType.OrchestratorStarted, EventId: -1, Timestamp: '2026-01-01T00:00:00.000Z' };
  const scheduled = { EventType: EventType.TaskScheduled, EventId: 0, Timestamp: '2026-01-01T00:00:00.000Z', Name: 'a' };
  const completed = { EventType: EventType.TaskCompleted, EventId: -1, Timestamp: '2026-01-01T00:00:01.000Z', TaskScheduledId: 0, Result: '1' };
  const snapshot = { st: 'Running', h: 1, id: 1 };

  it('keeps committed episodes, resolves references, and reports unconsumed incoming events as pending', () => {
    const text = [
      lineOf({ k: 'e', ep: 0, a: 'x', ev: started }),
      lineOf({ k: 'e', ep: 0, a: 'x', ev: scheduled }),
      lineOf({ k: 'c', ep: 0, a: 'x', s: snapshot }),
      lineOf({ k: 'i', ev: completed }),
      lineOf({ k: 'i', ev: completed }),
    ].join('\n');
    const parsed = parseLog(text);
    expect(parsed.committed).toHaveLength(2);
    expect(parsed.pending).toEqual([completed]);
    const consumed = parseLog(`${text}\n${lineOf({ k: 'e', ep: 1, a: 'y', ev: started })}\n${lineOf({ k: 'r', ep: 1, a: 'y', key: 't:0' })}\n${lineOf({ k: 'c', ep: 1, a: 'y', s: { ...snapshot, st: 'Completed' } })}`);
    expect(consumed.committed.map((e) => e.EventType)).toEqual([EventType.OrchestratorStarted, EventType.TaskScheduled, EventType.OrchestratorStarted, EventType.TaskCompleted]);
    expect(consumed.pending).toEqual([]);
    expect(consumed.snapshot?.st).toBe('Completed');
    expect(consumed.episodes).toBe(2);
  });

  it('ignores an episode without its commit line, a torn line, and keeps the retried episode once', () => {
    const torn = lineOf({ k: 'e', ep: 1, a: 'first', ev: started }) + '\n' + lineOf({ k: 'r', ep: 1, a: 'first', key: 't:0' }).slice(0, 10);
    const text = [
      lineOf({ k: 'e', ep: 0, a: 'x', ev: started }),
      lineOf({ k: 'e', ep: 0, a: 'x', ev: scheduled }),
      lineOf({ k: 'c', ep: 0, a: 'x', s: snapshot }),
      lineOf({ k: 'i', ev: completed }),
      torn,
      '',
      lineOf({ k: 'e', ep: 1, a: 'second', ev: started }),
      lineOf({ k: 'r', ep: 1, a: 'second', key: 't:0' }),
      lineOf({ k: 'c', ep: 1, a: 'second', s: snapshot }),
    ].join('\n');
    const parsed = parseLog(text);
    expect(parsed.tornLines).toBe(1);
    expect(parsed.committed).toHaveLength(4);
    expect(parsed.committed.filter((e) => e.EventType === EventType.TaskCompleted)).toHaveLength(1);
    const uncommitted = parseLog(text.split('\n').slice(0, 6).join('\n'));
    expect(uncommitted.committed).toHaveLength(2);
    expect(uncommitted.pending).toEqual([completed]);
  });
});

describe('actions', () => {
  it('flatten depth-first and drop repeats of already-tracked tasks', () => {
    const a = { actionType: 0, functionName: 'a', taskId: 0 };
    const b = { actionType: 0, functionName: 'b', taskId: 1 };
    const c = { actionType: 0, functionName: 'c', taskId: 2 };
    const state: OrchestratorState = {
      isDone: false,
      actions: [[{ actionType: 11, compoundActions: [a, b] }, { actionType: 11, compoundActions: [b, c] }]],
    };
    const { leaves, topLevel, repeats } = flattenActions(state);
    expect(leaves.map((l) => l.functionName)).toEqual(['a', 'b', 'c']);
    expect(topLevel.map((t) => t.count)).toEqual([2, 1]);
    // Reported, so the host can warn that Azure would schedule it again (#574).
    expect(repeats).toEqual([b]);
  });

  it('compute retry back-off like the SDK options say', () => {
    const options = { firstRetryIntervalInMilliseconds: 100, maxNumberOfAttempts: 5, backoffCoefficient: 2, maxRetryIntervalInMilliseconds: 500 };
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(options, attempt))).toEqual([100, 200, 400, 500]);
  });

  it('decide retryTimeoutInMilliseconds on orchestration time since the first attempt (unset or 0: no limit)', () => {
    const options = { firstRetryIntervalInMilliseconds: 100, maxNumberOfAttempts: 5 };
    expect(retryTimedOut({ ...options, retryTimeoutInMilliseconds: 1000 }, 5000, 5999)).toBe(false);
    expect(retryTimedOut({ ...options, retryTimeoutInMilliseconds: 1000 }, 5000, 6000)).toBe(true);
    expect(retryTimedOut({ ...options, retryTimeoutInMilliseconds: 0 }, 5000, 1e12)).toBe(false);
    expect(retryTimedOut(options, 5000, 1e12)).toBe(false);
    expect(retryTimedOut({ ...options, retryTimeoutInMilliseconds: 1000 }, undefined, 1e12)).toBe(false);
  });

  it('restore the retry timeout bookkeeping from history: first-attempt time and expired retry timers', () => {
    const record = { instanceId: 'i', name: 'o', version: '', runtimeStatus: 'Running', createdTime: new Date(), lastUpdatedTime: new Date(), input: undefined, output: undefined, customStatus: undefined, executionId: 'e', historyBlob: 'b' } as const;
    const state = new InstanceState({ ...record }, undefined);
    state.retries.set(0, { attempt: 2, options: { firstRetryIntervalInMilliseconds: 100, maxNumberOfAttempts: 5, retryTimeoutInMilliseconds: 1000 }, firstAttemptAt: 1234 });
    const at = '2026-01-01T00:00:00.000Z';
    const log = [
      lineOf({ k: 'e', ep: 0, a: 'x', ev: { EventType: EventType.TimerCreated, EventId: 3, Timestamp: at, FireAt: at, ActionIndex: 0, RetryTimer: true, [retryExpiredField]: true } }),
      lineOf({ k: 'c', ep: 0, a: 'x', s: state.snapshot() }),
    ].join('\n');
    const restored = new InstanceState({ ...record }, undefined);
    restored.restore(parseLog(log), log.length, 1);
    expect(restored.retries.get(0)?.firstAttemptAt).toBe(1234);
    expect(restored.scheduled.get(3)).toMatchObject({ kind: 'retryTimer', retryExpired: true });
  });

  it('escape instance ids for table keys without breaking prefixes', () => {
    expect(encodeKey('job/1#2?x')).toBe('job%2F1%232%3Fx');
    expect(encodeKey('abc-1').startsWith(encodeKey('abc'))).toBe(true);
  });
});

describe('episode state (owned by the episode runner)', () => {
  it('spaces episodes by the last one\'s duration and keeps an episode already due sooner', () => {
    const episode = new EpisodeState();
    episode.begin();
    expect(episode.running).toBe(true);
    episode.recordDuration(50);
    episode.end(1000);
    expect(episode.running).toBe(false);
    expect(episode.spacing(1010)).toBe(40);
    expect(episode.spacing(2000)).toBe(0);
    expect(episode.bringForward(1100, false)).toBe(true);
    expect(episode.bringForward(1200, true)).toBe(false);
    expect(episode.bringForward(1050, true)).toBe(true);
  });

  it('waits for the rest of a Task.all, until all are in or something else arrives', () => {
    const completed = (id: number): HistoryEvent => ({ EventType: EventType.TaskCompleted, EventId: -1, Timestamp: '', TaskScheduledId: id });
    const episode = new EpisodeState();
    episode.recordDuration(10);
    episode.blockOn([1, 2, 3], (id) => id === 1, () => false, false);
    expect(episode.blockedWait(5000, 4000)).toBe(1000);
    episode.noteArrival(completed(2));
    expect(episode.blockedWait(5000, 4000)).toBe(1000);
    episode.noteArrival(completed(3));
    expect(episode.blockedWait(5000, 4000)).toBeUndefined();
    episode.blockOn([4, 5], () => false, () => false, false);
    episode.noteArrival({ EventType: EventType.EventRaised, EventId: -1, Timestamp: '', Name: 'e' });
    expect(episode.blockedWait(5000, 4000)).toBeUndefined();
    episode.blockOn(undefined, () => false, () => false, false);
    expect(episode.blockedWait(5000, 4000)).toBeUndefined();
  });

  it('says once that a version is refused and once per re-yielded task', () => {
    const episode = new EpisodeState();
    expect([episode.reject(), episode.reject(), episode.rejected]).toEqual([true, false, true]);
    expect([episode.firstRepeat(7), episode.firstRepeat(7), episode.firstRepeat(8)]).toEqual([true, false, true]);
  });
});

describe('history blob bookkeeping (owned by the history writer)', () => {
  it('runs writes in order, also after one that failed, and settles after the last', async () => {
    const blob = new HistoryBlob();
    const order: string[] = [];
    const failed = blob.enqueue(async () => {
      await Promise.resolve();
      order.push('a');
      throw new Error('a failed');
    });
    const second = blob.enqueue(async () => order.push('b'));
    await expect(failed).rejects.toThrow('a failed');
    await second;
    await blob.settled();
    expect(order).toEqual(['a', 'b']);
  });

  it('counts an append over 4 MiB as several blocks, and knows which incoming events it holds', () => {
    const blob = new HistoryBlob();
    blob.appended(10, 'x'.repeat(10));
    blob.appended(10 + 5 * 1024 * 1024, 'x'.repeat(5 * 1024 * 1024));
    expect([blob.byteLength, blob.blockCount]).toEqual([10 + 5 * 1024 * 1024, 3]);
    blob.reset(0, 0);
    expect([blob.byteLength, blob.blockCount]).toEqual([0, 0]);
    blob.markStored('t:1');
    expect(blob.isStored('t:1')).toBe(true);
    blob.forget('t:1');
    expect(blob.isStored('t:1')).toBe(false);
  });
});

describe('host.json time spans', () => {
  it('parse like .NET TimeSpan', () => {
    expect(timeSpanMs('00:05:00')).toBe(300_000);
    expect(timeSpanMs('02:00:00')).toBe(7_200_000);
    expect(timeSpanMs('1.00:00:01')).toBe(86_401_000);
    expect(timeSpanMs('00:00:00.500')).toBe(500);
    expect(timeSpanMs('00:00:01.5')).toBe(1500);
    expect(timeSpanMs('-1')).toBeUndefined();
    expect(() => timeSpanMs('ten minutes')).toThrow(/time span/);
  });
});
