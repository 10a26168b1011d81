/**
 * Activity: deliver a job's CloudEvents (issue 24, step 5) to its collection's webhooks (those of
 * the definition version the job ran) and, in Azure, to the Event Grid custom topic. At least once:
 * a delivery that may pass later (a 5xx, 408, 429, a network fault) throws, and the activity's
 * retry policy sends the events again (same ids: receivers deduplicate); one that cannot (a URL no
 * longer allowed, a redirect, a 4xx) is reported and dropped.
 *
 * Webhooks are untrusted destinations: the URL is checked against the allowlist and every address
 * its host resolves to is checked (no private, link-local or metadata address; loopback only with
 * its setting), and the connection is pinned to the checked address (node's `lookup` option), so a
 * second DNS answer cannot rebind it. Redirects are never followed. The Event Grid topic is called
 * with the app's managed identity (role "EventGrid Data Sender").
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { TokenCredential } from '@azure/identity';
import type { CollectionStore } from '../collections/collection.store.js';
import type { NotificationEvent } from '../collections/definition.schema.js';
import { resolveWebhookAddresses, type WebhookPolicy } from '../collections/webhook.policy.js';
import { boundText, logTextBound } from '../pipeline/bounded.text.js';
import type { PublishEventsInput } from '../pipeline/contracts.js';
import { FailureError } from '../pipeline/failure.js';

export interface PublishEventsResult {
  delivered: number;
  /** Deliveries dropped for good, each with why (bounded). */
  dropped: string[];
}

export interface EventTopic {
  endpoint: string;
  credential: TokenCredential;
}

export interface PublishEventsDependencies {
  collections: Pick<CollectionStore, 'read'>;
  webhooks: WebhookPolicy;
  topic?: EventTopic;
  log?: (message: string) => void;
}

const deliveryTimeoutMs = 10_000;

/** A delivery answer: 2xx delivered; 408, 429 and 5xx may pass on a retry; anything else will not. */
function classify(status: number): 'ok' | 'retry' | 'drop' {
  if (status >= 200 && status < 300) return 'ok';
  return status === 408 || status === 429 || status >= 500 ? 'retry' : 'drop';
}

/** POSTs `body` to `url`, connecting only to `address`; resolves with the status (redirects are answers, not followed). */
export function postPinned(url: URL, address: string, body: string, headers: Record<string, string>): Promise<number> {
  const lookup: LookupFunction = (_host, options, callback) => {
    const family = address.includes(':') ? 6 : 4;
    if ((options as { all?: boolean }).all) (callback as unknown as (error: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, { method: 'POST', lookup, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, timeout: deliveryTimeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

export function createPublishEvents(deps: PublishEventsDependencies): (input: PublishEventsInput) => Promise<PublishEventsResult> {
  return async ({ events, collection, definitionVersion }) => {
    const dropped: string[] = [];
    const retry: string[] = [];
    let delivered = 0;
    const definition = definitionVersion === null ? undefined : (await deps.collections.read(collection, definitionVersion))?.definition;
    for (const webhook of definition?.notifications.webhooks ?? []) {
      const wanted = events.filter((event) => !webhook.events || webhook.events.includes(event.type.replace(/^org\.raster-ingest\./, '') as NotificationEvent));
      if (wanted.length === 0) continue;
      const shown = boundText(webhook.url, 120);
      const resolved = await resolveWebhookAddresses(webhook.url, deps.webhooks);
      if (!resolved.ok) {
        dropped.push(`${shown}: ${resolved.problem}`);
        continue;
      }
      for (const event of wanted) {
        let status: number;
        try {
          status = await postPinned(new URL(webhook.url), resolved.addresses[0]!, JSON.stringify(event), { 'Content-Type': 'application/cloudevents+json; charset=utf-8' });
        } catch (error) {
          retry.push(`${shown}: ${error instanceof Error ? boundText(error.message, 200) : 'failed'}`);
          continue;
        }
        const outcome = classify(status);
        if (outcome === 'ok') delivered++;
        else if (outcome === 'retry') retry.push(`${shown}: answered ${status}`);
        else dropped.push(`${shown}: answered ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}`);
      }
    }
    if (deps.topic && events.length > 0) {
      const token = await deps.topic.credential.getToken('https://eventgrid.azure.net/.default');
      const response = await fetch(new URL('/api/events?api-version=2018-01-01', deps.topic.endpoint), {
        method: 'POST',
        headers: { 'Content-Type': 'application/cloudevents-batch+json; charset=utf-8', Authorization: `Bearer ${token?.token ?? ''}` },
        body: JSON.stringify(events),
        redirect: 'manual',
        signal: AbortSignal.timeout(deliveryTimeoutMs),
      });
      const outcome = classify(response.status);
      if (outcome === 'ok') delivered += events.length;
      else if (outcome === 'retry') retry.push(`Event Grid topic: answered ${response.status}`);
      else dropped.push(`Event Grid topic: answered ${response.status}`);
    }
    for (const reason of dropped) deps.log?.(`Events ${events.map((event) => event.id).join(', ')} not delivered to ${boundText(reason, logTextBound)}`);
    // Thrown, so the activity's retry policy delivers again (at least once; the same ids).
    if (retry.length > 0) throw new FailureError({ code: 'TRANSIENT_STORAGE', message: `event delivery may pass later: ${boundText(retry.join('; '), 300)}` });
    return { delivered, dropped: dropped.map((reason) => boundText(reason, 300)) };
  };
}
