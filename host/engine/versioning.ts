/**
 * Orchestration versioning as the Durable extension applies it (host.json
 * `extensions.durableTask`: `defaultVersion`, `versionMatchStrategy`, `versionFailureStrategy`).
 * An instance keeps the version it was started with (ExecutionStarted.Version, which the SDK
 * exposes as `context.df.version`); a host runs only the instances its strategy accepts.
 */

export const versionMatchStrategies = ['None', 'Strict', 'CurrentOrOlder'] as const;
export const versionFailureStrategies = ['Reject', 'Fail'] as const;
export type VersionMatchStrategy = (typeof versionMatchStrategies)[number];
export type VersionFailureStrategy = (typeof versionFailureStrategies)[number];

export interface VersioningSettings {
  /** Version of new instances (and of sub-orchestrations started without one); '' = unversioned. */
  defaultVersion: string;
  matchStrategy: VersionMatchStrategy;
  failureStrategy: VersionFailureStrategy;
}

function pick<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === '') return fallback;
  // host.json enums are read case-insensitively, as .NET does.
  const found = allowed.find((option) => option.toLowerCase() === value.toLowerCase());
  if (!found) throw new Error(`host.json extensions.durableTask.${name} "${value}" is not one of ${allowed.join(', ')}`);
  return found;
}

export function readVersioning(durableTask: { defaultVersion?: string; versionMatchStrategy?: string; versionFailureStrategy?: string } | undefined): VersioningSettings {
  return {
    defaultVersion: durableTask?.defaultVersion ?? '',
    matchStrategy: pick('versionMatchStrategy', durableTask?.versionMatchStrategy, versionMatchStrategies, 'CurrentOrOlder'),
    failureStrategy: pick('versionFailureStrategy', durableTask?.versionFailureStrategy, versionFailureStrategies, 'Reject'),
  };
}

/** System.Version's format: two to four non-negative integers; missing parts compare as -1 (so 1.0 < 1.0.0). */
function parseDotNetVersion(version: string): number[] | undefined {
  if (!/^\d+(\.\d+){1,3}$/.test(version)) return undefined;
  const parts = version.split('.').map(Number);
  if (parts.some((part) => part > 2_147_483_647)) return undefined;
  while (parts.length < 4) parts.push(-1);
  return parts;
}

/**
 * Microsoft's comparison rules: empty versions are equal and older than any other; two
 * System.Version strings compare numerically; anything else compares as case-insensitive text.
 */
export function compareVersions(a: string, b: string): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  const left = parseDotNetVersion(a);
  const right = parseDotNetVersion(b);
  if (left && right) {
    for (let i = 0; i < 4; i++) if (left[i] !== right[i]) return left[i]! < right[i]! ? -1 : 1;
    return 0;
  }
  const upperA = a.toUpperCase();
  const upperB = b.toUpperCase();
  return upperA === upperB ? 0 : upperA < upperB ? -1 : 1;
}

/** Why this host must not run an instance of `instanceVersion`, or undefined when it may. */
export function versionMismatch(instanceVersion: string, settings: VersioningSettings): string | undefined {
  // Without a defaultVersion the app has not opted in: every instance runs (as the Durable Task SDKs do).
  if (!settings.defaultVersion) return undefined;
  const order = compareVersions(instanceVersion, settings.defaultVersion);
  const accepted = settings.matchStrategy === 'None' || (settings.matchStrategy === 'Strict' ? order === 0 : order <= 0);
  if (accepted) return undefined;
  return (
    `its version "${instanceVersion}" is ${settings.matchStrategy === 'Strict' ? 'not' : 'newer than'} this app's defaultVersion ` +
    `"${settings.defaultVersion}" (versionMatchStrategy ${settings.matchStrategy})`
  );
}
