/**
 * Events out (issue 24, step 5): job and quarantine transitions as CloudEvents 1.0 in structured
 * JSON mode. Pure, so the orchestrators build them: every field comes from the job's input and
 * its orchestration clock. The `id` is the job's id and the transition (`<job>:completed`), so a
 * delivery repeated after a retry carries the same id and a receiver deduplicates on it.
 */
import type { NotificationEvent } from './definition.schema.js';

export interface CloudEvent<Data = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: Data;
}

/** What a job event says: enough to find the job and its collection, no upload content beyond its bounded name. */
export interface JobEventData {
  jobId: string;
  collection: string;
  /** `<container>/<blob>`, bounded as in the job's status. */
  source: string;
  definitionVersion: number | null;
  status: string;
  /** Failed: the first failure's code; quarantined: the rules that failed. */
  errorCode?: string;
  rules?: string[];
}

/** The CloudEvents `source` of this app's events. */
export const eventSource = '/raster-ingest';
/** `type` prefix, reverse-DNS-like as the spec recommends. */
export const eventTypePrefix = 'org.raster-ingest';

export function jobEvent(transition: NotificationEvent, time: string, data: JobEventData): CloudEvent<JobEventData> {
  return {
    specversion: '1.0',
    id: `${data.jobId}:${transition.replace(/^job\./, '')}`,
    source: `${eventSource}/collections/${data.collection}`,
    type: `${eventTypePrefix}.${transition}`,
    subject: `jobs/${data.jobId}`,
    time,
    datacontenttype: 'application/json',
    data,
  };
}
