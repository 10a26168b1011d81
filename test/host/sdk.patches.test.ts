import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ActionType, EventType, retryExpiredField } from '../../host/engine/history.js';
import { checkSdkVersions, inRange, installedVersion, sdkPatchesApplied, supportedSdkVersions } from '../../host/sdk.adapter.js';
import { loadApp } from '../../host/worker.shim.js';
import { flattenActions, HistoryBuilder, replay } from '../support/orchestrator.replay.js';
import { fixtureApp } from './support/host.process.js';

/** An app root whose node_modules hold stand-ins of the two SDKs at the given versions. */
function appWithSdks(versions: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'sdk-versions-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'app', main: 'index.js' }));
  for (const [name, version] of Object.entries(versions)) {
    const dir = join(root, 'node_modules', ...name.split('/'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version, main: 'index.js' }));
    writeFileSync(join(dir, 'index.js'), '');
  }
  return root;
}

/**
 * The local host patches the app's durable-functions in memory (host/README.md, "SDK patches").
 * The patches rely on internals of the pinned 3.5.0: this file fails when those change, so an SDK
 * upgrade cannot silently turn a patch off (the host would fall back, and only warn).
 */
const require = createRequire(import.meta.url);
const sdkRoot = require.resolve('durable-functions').replace(/lib[\\/]src[\\/]index\.js$/, '');
type Method = (...args: never[]) => unknown;
const executorPrototype = (require(`${sdkRoot}lib/src/orchestrations/TaskOrchestrationExecutor.js`) as { TaskOrchestrationExecutor: { prototype: Record<string, Method> } }).TaskOrchestrationExecutor.prototype;
const retryablePrototype = (require(`${sdkRoot}lib/src/task/RetryableTask.js`) as { RetryableTask: { prototype: Record<string, Method> } }).RetryableTask.prototype;

describe('the numbers the host names', () => {
  // The SDK does not export these enums; the host's names must mean the SDK's numbers.
  const sdkEnum = (path: string, name: string): Record<string, number> => {
    const values = (require(`${sdkRoot}${path}`) as Record<string, Record<string, unknown>>)[name]!;
    return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
  };

  it('ActionType is the SDK\'s ActionType, every member', () => {
    expect(ActionType).toEqual(sdkEnum('lib/src/actions/ActionType.js', 'ActionType'));
  });

  it('EventType is the SDK\'s HistoryEventType (the two types the host never writes left out)', () => {
    const { GenericEvent, HistoryState, ...written } = sdkEnum('lib/src/history/HistoryEventType.js', 'HistoryEventType');
    expect([GenericEvent, HistoryState]).toEqual([17, 18]);
    expect(EventType).toEqual(written);
  });
});

describe('the SDK versions the adapter (host/sdk.adapter.ts) supports', () => {
  it('are durable-functions 3.5.x and @azure/functions 4.16 and later 4.x', () => {
    expect(supportedSdkVersions).toEqual({ 'durable-functions': { from: '3.5.0', below: '3.6.0' }, '@azure/functions': { from: '4.16.0', below: '5.0.0' } });
  });

  it('include the installed versions (node_modules/*/package.json)', () => {
    for (const [name, range] of Object.entries(supportedSdkVersions)) {
      const { version } = require(`${name}/package.json`) as { version: string };
      expect(installedVersion(fixtureApp, name)).toBe(version);
      expect(inRange(version, range), `${name} ${version} is outside ${range.from} – <${range.below}: re-check host/sdk.adapter.ts`).toBe(true);
    }
  });

  it('an app with a version outside them is refused, naming the package, its version and the range', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'durable-functions': '3.6.0', '@azure/functions': '4.16.5' }, /supports durable-functions 3\.5\.0 up to \(not including\) 3\.6\.0; the app under .* has 3\.6\.0/],
      [{ 'durable-functions': '3.4.9', '@azure/functions': '4.16.5' }, /durable-functions .* has 3\.4\.9/],
      [{ 'durable-functions': '3.5.0', '@azure/functions': '5.0.0-beta.1' }, /@azure\/functions 4\.16\.0 up to \(not including\) 5\.0\.0; .* has 5\.0\.0-beta\.1/],
      [{ 'durable-functions': '3.5.0', '@azure/functions': '4.15.2' }, /@azure\/functions .* has 4\.15\.2/],
    ];
    for (const [versions, message] of cases) {
      const root = appWithSdks(versions);
      try {
        expect(() => checkSdkVersions(root)).toThrow(message);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
    const supported = appWithSdks({ 'durable-functions': '3.5.9', '@azure/functions': '4.99.0' });
    try {
      expect(() => checkSdkVersions(supported)).not.toThrow();
    } finally {
      rmSync(supported, { recursive: true, force: true });
    }
  });
});

describe('the SDK internals the patches rely on (before patching)', () => {
  it('are those of durable-functions 3.5.0', () => {
    expect((require(`${sdkRoot}package.json`) as { version: string }).version, 'durable-functions was upgraded: re-check every patch in host/README.md').toBe('3.5.0');
  });

  it('TaskOrchestrationExecutor.trackOpenTask(task) numbers atomic tasks from sequenceNumber', () => {
    const source = executorPrototype['trackOpenTask']!.toString();
    expect(executorPrototype['trackOpenTask']).toHaveLength(1);
    expect(source).toMatch(/task\.id = this\.sequenceNumber\+\+/);
    expect(source).toContain('instanceof task_1.CompoundTask');
  });

  it('TaskOrchestrationExecutor.processEvent(event) sees every history event; RetryableTask.trySetValue(child, executor) decides on attemptNumber vs maxNumberOfAttempts after its timer', () => {
    expect(executorPrototype['processEvent']).toHaveLength(1);
    const trySetValue = retryablePrototype['trySetValue']!;
    expect(trySetValue).toHaveLength(2);
    const source = trySetValue.toString();
    for (const field of ['isWaitingOnTimer', 'attemptNumber', 'retryOptions.maxNumberOfAttempts']) expect(source).toContain(field);
  });
});

describe('the patches, once the host has loaded an app', () => {
  beforeAll(async () => {
    await loadApp(fixtureApp);
  });

  it('are all applied', () => {
    expect(sdkPatchesApplied()).toEqual({ taskIds: true, retryTimeouts: true });
    expect(executorPrototype['trackOpenTask']!.toString()).not.toMatch(/sequenceNumber\+\+/);
  });

  it('taskIds: actions carry the SDK sequence number, and a task re-yielded in a new Task.any still repeats its action (#574 is still there)', async () => {
    function* orchestrator(context: OrchestrationContext): Generator<df.Task, string, unknown> {
      const a = context.df.callActivity('a');
      const b = context.df.callActivity('b');
      yield context.df.Task.any([a, b]);
      yield context.df.Task.any([b, context.df.callActivity('c')]);
      return 'done';
    }
    const history = new HistoryBuilder().episode('patched', null).taskScheduled(0, 'a').taskScheduled(1, 'b').episodeDone().episode().taskCompleted(0, 'A');
    const state = await replay(orchestrator, history, null);
    const leaves = state.actions.flat().flatMap((action) => action.compoundActions ?? [action]);
    expect(leaves.map((action) => [action.functionName, action.taskId])).toEqual([['a', 0], ['b', 1], ['b', 1], ['c', 2]]);
    expect(flattenActions(state).map((action) => action.functionName)).toEqual(['a', 'b', 'c']);
  });

  it('retryTimeouts: a retry timer the host marked RetryExpired ends the retries with the last failure', async () => {
    function* orchestrator(context: OrchestrationContext): Generator<df.Task, string, unknown> {
      try {
        yield context.df.callActivityWithRetry('flaky', new df.RetryOptions(100, 5));
        return 'succeeded';
      } catch (error) {
        return `gave up: ${(error as Error).message.split('\n')[0]}`;
      }
    }
    const history = new HistoryBuilder().episode('retrying', null).taskScheduled(0, 'flaky').episodeDone().episode().taskFailed(0, 'attempt 1 failed').timerCreated(1);
    history.events.at(-1)![retryExpiredField] = true;
    history.episodeDone().episode().timerFired(1);
    const state = await replay(orchestrator, history, null);
    expect(state.isDone).toBe(true);
    expect(state.output).toMatch(/^gave up: attempt 1 failed\s*$/);
  });
});
