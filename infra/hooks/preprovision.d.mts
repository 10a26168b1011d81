// Types of infra/hooks/preprovision.mjs for test/infra (plain JavaScript, so azd runs it with `node`).

export declare const armEndpoint: string;
export declare const resourceProviders: readonly string[];
export declare class HookError extends Error {}

interface Waiting {
  baseUrl?: string;
  fetchImpl?: typeof fetch;
  attempts?: number;
  intervalMs?: number;
  sleep?: (ms: number) => Promise<unknown>;
}

export declare function registerProviders(options: Waiting & { subscriptionId: string; token: string; log: (line: string) => void; providers?: readonly string[] }): Promise<string[]>;
export declare function runPreprovision(
  options?: Waiting & {
    providers?: readonly string[];
    env?: Record<string, string | undefined>;
    log?: (line: string) => void;
    getToken?: (tenantId: string | undefined, scope: string) => Promise<string>;
    azd?: (args: string[]) => void;
    graphBaseUrl?: string;
  },
): Promise<{ registered: string[]; authClientId: string | undefined }>;
