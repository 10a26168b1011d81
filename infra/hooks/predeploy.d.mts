// Types of infra/hooks/predeploy.mjs for test/infra (plain JavaScript, so azd runs it with `node`).

export declare const requiredVariables: readonly string[];
export declare class HookError extends Error {}

interface Waiting {
  fetchImpl?: typeof fetch;
  attempts?: number;
  intervalMs?: number;
  sleep?: (ms: number) => Promise<unknown>;
}

export declare function readPackageContainer(options: { blobEndpoint: string; container: string; token: string; fetchImpl?: typeof fetch }): Promise<{ state: 'ready' } | { state: 'pending'; detail: string }>;
export declare function waitForDataPlane(options: Waiting & { blobEndpoint: string; container: string; token: string; log: (line: string) => void }): Promise<number>;
export declare function runPredeploy(options?: Waiting & { env?: Record<string, string | undefined>; log?: (line: string) => void; getToken?: (tenantId: string | undefined) => Promise<string> }): Promise<number>;
