import type { Registration, TypedData } from '../worker.shim.js';

/** Where the host's public and RPC endpoints live, for URLs handed to the app. */
export interface HostEndpoints {
  /** e.g. http://localhost:7071 — the origin in check-status URLs. */
  publicOrigin: string;
  /** e.g. http://127.0.0.1:7071 — what the durable client in the app calls. */
  rpcOrigin: string;
  taskHubName: string;
  connectionName: string;
}

export const webhookPath = '/runtime/webhooks/durabletask';
export const rpcPath = '/durabletask';

function query(endpoints: HostEndpoints): string {
  return `taskHub=${encodeURIComponent(endpoints.taskHubName)}&connection=${encodeURIComponent(endpoints.connectionName)}`;
}

/** The management URLs of one instance (what createCheckStatusResponse returns). */
export function managementPayload(endpoints: HostEndpoints, instanceId: string): Record<string, string> {
  const base = `${endpoints.publicOrigin}${webhookPath}/instances/${encodeURIComponent(instanceId)}`;
  const q = query(endpoints);
  return {
    id: instanceId,
    purgeHistoryDeleteUri: `${base}?${q}`,
    sendEventPostUri: `${base}/raiseEvent/{eventName}?${q}`,
    statusQueryGetUri: `${base}?${q}`,
    terminatePostUri: `${base}/terminate?reason={text}&${q}`,
    rewindPostUri: `${base}/rewind?reason={text}&${q}`,
    restartPostUri: `${base}/restart?${q}`,
    suspendPostUri: `${base}/suspend?reason={text}&${q}`,
    resumePostUri: `${base}/resume?reason={text}&${q}`,
  };
}

/** Value of the `durableClient` input binding, as the Durable extension supplies it. */
export function durableClientBinding(endpoints: HostEndpoints): Record<string, unknown> {
  const base = `${endpoints.publicOrigin}${webhookPath}`;
  const q = query(endpoints);
  const placeholder = 'INSTANCEID';
  const urls = managementPayload(endpoints, placeholder);
  return {
    taskHubName: endpoints.taskHubName,
    creationUrls: {
      createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?${q}`,
      createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${q}`,
    },
    managementUrls: { ...urls, id: placeholder },
    baseUrl: base,
    requiredQueryStringParameters: q,
    rpcBaseUrl: `${endpoints.rpcOrigin}${rpcPath}/`,
    httpBaseUrl: base,
  };
}

/** Input data for a function's durableClient bindings (any trigger type may have them). */
export function durableClientInputs(registration: Registration, endpoints: HostEndpoints): Array<{ name: string; data: TypedData }> {
  const inputs: Array<{ name: string; data: TypedData }> = [];
  for (const [name, binding] of Object.entries(registration.metadata.bindings)) {
    if (binding.direction === 'in' && (binding.type === 'durableClient' || binding.type === 'orchestrationClient')) {
      inputs.push({ name, data: { string: JSON.stringify(durableClientBinding(endpoints)) } });
    }
  }
  return inputs;
}
