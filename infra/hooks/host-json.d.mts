// Types of infra/hooks/host-json.mjs for test/infra (plain JavaScript, so azd runs it with `node`).

export interface DurableBackend {
  durableBackend: 'AzureStorage' | 'DurableTaskScheduler';
  separateDurableStorage: boolean;
}

export declare const schedulerConnectionSettingName: string;
export declare const durableStorageConnectionName: string;
export declare const maxQueuePollingInterval: string;
export declare class HookError extends Error {}
export declare function readBackend(env: Record<string, string | undefined>): DurableBackend;
export declare function storageProviderFor(backend: DurableBackend): Record<string, string>;
export declare function hostJsonFor<T>(hostJson: T, backend: DurableBackend): T;
export declare function serializeHostJson(hostJson: unknown): string;
export declare function runHostJsonHook(options: { command: string; env?: Record<string, string | undefined>; projectDir?: string; log?: (line: string) => void }): void;
