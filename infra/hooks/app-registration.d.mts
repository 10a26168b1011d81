// Types of infra/hooks/app-registration.mjs for test/infra (plain JavaScript, so azd runs it with `node`).

export declare const graphEndpoint: string;
export declare const graphScope: string;
export declare const appRoleDefinitions: ReadonlyArray<{ value: string; displayName: string; description: string }>;
export declare function stableId(name: string): string;
export declare function registrationFor(options: { environmentName: string; appId?: string; baseUrl?: string }): Record<string, unknown>;
