import { existsSync, readFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { EventType, retryExpiredField } from './engine/history.js';

/**
 * The one place the host depends on the SDKs' private internals. The host runs the app's own
 * `@azure/functions` (through the functions-core API the Node worker provides) and its own
 * `durable-functions`, and changes the latter in memory in two places (host/README.md, "SDK
 * patches"). Both rely on internals of the versions below: outside these ranges the host refuses
 * to start, naming the package, its version and the range; test/host/sdk.patches.test.ts checks
 * the installed versions and the internals each patch relies on.
 */

/** A range of versions: `from` included, `below` excluded. */
export interface VersionRange {
  from: string;
  below: string;
}

export const supportedSdkVersions: Readonly<Record<'durable-functions' | '@azure/functions', VersionRange>> = {
  // The patches replace private methods of TaskOrchestrationExecutor and RetryableTask as 3.5 has them.
  'durable-functions': { from: '3.5.0', below: '3.6.0' },
  // The programming model the host's functions-core stand-in serves (worker.shim.ts).
  '@azure/functions': { from: '4.16.0', below: '5.0.0' },
};

function versionParts(version: string): number[] {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) throw new Error(`"${version}" is not a version like 1.2.3`);
  return match.slice(1, 4).map(Number);
}

function compareVersions(a: string, b: string): number {
  const left = versionParts(a);
  const right = versionParts(b);
  for (let i = 0; i < 3; i++) if (left[i] !== right[i]) return left[i]! < right[i]! ? -1 : 1;
  return 0;
}

/** Whether `version` lies in `range` (a prerelease counts as its release). */
export function inRange(version: string, range: VersionRange): boolean {
  return compareVersions(version, range.from) >= 0 && compareVersions(version, range.below) < 0;
}

/** The version of the app's own copy of a package (resolved from the app root, as the app resolves it). */
export function installedVersion(appRoot: string, name: string): string {
  const appRequire = Module.createRequire(join(appRoot, 'package.json'));
  let dir = dirname(appRequire.resolve(name));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === name && parsed.version) return parsed.version;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Cannot find the package.json of ${name} resolved from ${appRoot}`);
    dir = parent;
  }
}

/** Refuses an app whose SDKs are outside the versions the host supports, saying which and why. */
export function checkSdkVersions(appRoot: string): void {
  for (const [name, range] of Object.entries(supportedSdkVersions)) {
    const version = installedVersion(appRoot, name);
    if (!inRange(version, range)) {
      throw new Error(
        `The local host supports ${name} ${range.from} up to (not including) ${range.below}; the app under ${appRoot} has ${version}. ` +
          'The host relies on internals of those versions (host/README.md, "SDK patches"): use a supported version, or update host/sdk.adapter.ts and its test.',
      );
    }
  }
}

/** Applies the host's patches to the app's durable-functions (once per process; see below). */
export function adaptSdk(appRoot: string): void {
  tagTaskIds(appRoot);
  patchRetryTimeouts(appRoot);
}

/** A module of the app's own copy of durable-functions (resolved from the app root, as the app resolves it). */
function requireSdkModule(appRoot: string, relativePath: string): unknown {
  const appRequire = Module.createRequire(join(appRoot, 'package.json'));
  return appRequire(join(appRequire.resolve('durable-functions'), '..', ...relativePath.split('/')));
}

let taskIdsTagged = false;

/**
 * The host's in-memory patches of the app's durable-functions (listed in host/README.md) and
 * whether each could be applied: false means the SDK's internals differ from the pinned 3.5.0.
 */
export function sdkPatchesApplied(): { taskIds: boolean; retryTimeouts: boolean } {
  return { taskIds: taskIdsTagged, retryTimeouts: retryTimeoutsPatched };
}

/**
 * Makes the SDK write each task's sequence number into its action (`taskId`). The replay
 * protocol loses object identity: an already-scheduled task yielded again inside a new
 * Task.any / Task.all appears in the action list a second time (the SDK bug behind
 * azure-functions-durable-js#574, which makes Azure schedule it twice). With the id the host
 * recognizes repeats and takes sequence numbers from the SDK itself. The app's own copy of
 * durable-functions is patched (resolved from the app root); if its internals differ, the host
 * falls back to counting actions, which is exact for every pattern without re-yielded tasks.
 */
function tagTaskIds(appRoot: string): void {
  if (taskIdsTagged) return;
  try {
    const executorModule = requireSdkModule(appRoot, 'orchestrations/TaskOrchestrationExecutor.js') as {
      TaskOrchestrationExecutor?: { prototype: { trackOpenTask?: (task: unknown) => void } };
    };
    const prototype = executorModule.TaskOrchestrationExecutor?.prototype;
    const original = prototype?.trackOpenTask;
    if (!prototype || typeof original !== 'function') return;
    prototype.trackOpenTask = function trackOpenTask(this: unknown, task: unknown): void {
      original.call(this, task);
      const { id, actionObj } = task as { id?: unknown; actionObj?: unknown };
      if (typeof id === 'number' && typeof actionObj === 'object' && actionObj !== null && !('taskId' in actionObj)) {
        Object.defineProperty(actionObj, 'taskId', { value: id, enumerable: true });
      }
    };
    taskIdsTagged = true;
  } catch {
    // Not the durable-functions layout this host knows: counting actions still works.
  }
}

let retryTimeoutsPatched = false;

/** Whether the SDK could be taught to end retries at the host's RetryExpired timers (see below). */
export function retryTimeoutsEnforceable(): boolean {
  return retryTimeoutsPatched;
}

/**
 * Lets the host enforce `retryTimeoutInMilliseconds`. The SDK's RetryableTask counts attempts only:
 * after each failure it waits for a retry timer and then asks for another attempt until
 * maxNumberOfAttempts. Azure stops retrying once the timeout since the first attempt has passed,
 * and durable-functions 3.x then waits forever (azure-functions-durable-js#629). Here the host
 * records its decision on the retry timer it creates (TimerCreated with RetryExpired: true), and
 * this patch makes such a timer end the retries, so the SDK surfaces the last failure exactly as
 * it does after the last attempt. The decision lives in history, so every replay takes it again.
 */
function patchRetryTimeouts(appRoot: string): void {
  if (retryTimeoutsPatched) return;
  try {
    const executorModule = requireSdkModule(appRoot, 'orchestrations/TaskOrchestrationExecutor.js') as {
      TaskOrchestrationExecutor?: { prototype: { processEvent?: (event: unknown) => void } };
    };
    const retryModule = requireSdkModule(appRoot, 'task/RetryableTask.js') as {
      RetryableTask?: { prototype: { trySetValue?: (child: unknown, executor: unknown) => void } };
    };
    const executor = executorModule.TaskOrchestrationExecutor?.prototype;
    const retryable = retryModule.RetryableTask?.prototype;
    const processEvent = executor?.processEvent;
    const trySetValue = retryable?.trySetValue;
    if (!executor || !retryable || typeof processEvent !== 'function' || typeof trySetValue !== 'function') return;
    const expiredTimers = new WeakMap<object, Set<number>>();
    executor.processEvent = function patchedProcessEvent(this: object, event: unknown): void {
      const { EventType: type, EventId: id } = event as { EventType?: unknown; EventId?: unknown };
      if (type === EventType.TimerCreated && typeof id === 'number' && (event as Record<string, unknown>)[retryExpiredField] === true) {
        let ids = expiredTimers.get(this);
        if (!ids) expiredTimers.set(this, (ids = new Set()));
        ids.add(id);
      }
      processEvent.call(this, event);
    };
    retryable.trySetValue = function patchedTrySetValue(this: { isWaitingOnTimer?: unknown; attemptNumber?: unknown; retryOptions?: { maxNumberOfAttempts?: unknown } }, child: unknown, executorInstance: unknown): void {
      const timerId = (child as { id?: unknown } | undefined)?.id;
      const max = this.retryOptions?.maxNumberOfAttempts;
      if (
        this.isWaitingOnTimer === true &&
        typeof timerId === 'number' &&
        typeof max === 'number' &&
        typeof executorInstance === 'object' &&
        executorInstance !== null &&
        expiredTimers.get(executorInstance)?.has(timerId)
      ) {
        // As if the attempts were used up: the SDK then surfaces the last failure.
        this.attemptNumber = Math.max(Number(this.attemptNumber) || 0, max + 1);
      }
      trySetValue.call(this, child, executorInstance);
    };
    retryTimeoutsPatched = true;
  } catch {
    // Not the durable-functions layout this host knows: retry timeouts stay unenforced.
  }
}
