// Types of infra/hooks/postdeploy.mjs for test/infra (the hook is plain JavaScript so that azd can
// run it with `node` on any platform without a build).

export declare const requiredVariables: readonly string[];
export declare const armEndpoint: string;
export declare const uploadFunctionName: string;

export declare class HookError extends Error {}

export interface HookSettings {
  subscriptionId: string;
  resourceGroup: string;
  functionAppName: string;
  functionBaseUrl: string;
  alreadySubscribed: boolean;
  tenantId: string | undefined;
}

export type FunctionLookup = { state: 'ready' } | { state: 'pending'; detail: string };

export declare function readHookSettings(env: Record<string, string | undefined>): HookSettings;

export declare function checkFunctionApp(options: { settings: HookSettings; token: string; baseUrl?: string; fetchImpl?: typeof fetch }): Promise<void>;

export declare function readUploadFunction(options: {
  settings: HookSettings;
  token: string;
  baseUrl?: string;
  fetchImpl?: typeof fetch;
}): Promise<FunctionLookup>;

export declare function waitForUploadFunction(options: {
  readFunction: () => Promise<FunctionLookup>;
  wake: () => Promise<void>;
  log: (line: string) => void;
  attempts?: number;
  intervalMs?: number;
  sleep?: (ms: number) => Promise<unknown>;
}): Promise<void>;

export declare function runPostdeploy(options?: {
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
  getToken?: (tenantId: string | undefined) => Promise<string>;
  azd?: (args: string[]) => void;
  baseUrl?: string;
  fetchImpl?: typeof fetch;
  attempts?: number;
  intervalMs?: number;
  sleep?: (ms: number) => Promise<unknown>;
}): Promise<void>;

export declare function syncTriggers(options: { settings: HookSettings; token: string; log: (line: string) => void; baseUrl?: string; fetchImpl?: typeof fetch }): Promise<boolean>;
