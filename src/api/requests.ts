/**
 * The requests the HTTP functions parse, as zod schemas: the handlers parse with them and the
 * OpenAPI description (`src/api/openapi.ts`) describes them, so the two cannot differ. The bodies
 * of submissions are the pipeline's own (`src/pipeline/options.ts`).
 */
import { z } from 'zod';
import { maxContinuationTokenLength } from '../jobs/continuation.token.js';
import { maxBulkRetryTop } from '../jobs/retry.advice.js';
import { failureCodes } from '../pipeline/failure.js';

export { submitBatchSchema, submitJobSchema } from '../pipeline/options.js';

/** `GET /api/jobs` (query), and the filter of `POST /api/jobs/retry`. */
export const jobFilterSchema = z
  .object({
    /** Runtime statuses, comma-separated in a query: `Pending`, `Running`, `Completed`, `Failed`, `Terminated`. */
    status: z.union([z.string(), z.array(z.string())]).optional(),
    collection: z.string().max(63).optional(),
    /** An ISO 8601 time, or an age such as `30m`, `12h`, `1d`, `2w`. */
    since: z.string().max(40).optional(),
    errorCode: z.enum(failureCodes).optional(),
    /** Only the jobs of this batch. */
    batch: z.string().max(200).optional(),
    /** `<container>/<path prefix>`, or a blob path prefix in any allowed container. */
    source: z.string().min(1).max(1100).optional(),
    top: z.coerce.number().int().min(1).max(500).default(50),
    continuationToken: z.string().max(4096).optional(),
  })
  .strict();

/** `POST /api/jobs/{id}/retry`, with an optional body `{"force": true}`: retry a permanent failure anyway. */
export const retryRequestSchema = z.object({ force: z.boolean().default(false) }).strict();

/** `POST /api/jobs/retry`. Bounded per request (`top` ≤ maxBulkRetryTop): each job it retries costs a few lookups and a start. */
export const bulkRetryRequestSchema = jobFilterSchema.extend({
  dryRun: z.boolean().default(false),
  status: z.array(z.string()).optional(),
  top: z.number().int().min(1).max(maxBulkRetryTop).default(maxBulkRetryTop),
});

/** `GET /api/batches` (query). */
export const listBatchesQuerySchema = z.object({ top: z.coerce.number().int().min(1).max(500).default(50), continuationToken: z.string().max(maxContinuationTokenLength).optional() }).strict();

/** `GET /api/jobs/{id}/tiles` (query): `continuationToken` is the page a previous answer named. */
export const tilesQuerySchema = z.object({ continuationToken: z.string().max(20).optional() });

/** A job's or batch's id in a path. */
export const idParamsSchema = z.object({ id: z.string().max(200) });

/** A collection's id in a path (`PUT/GET /api/collections/{id}`); its form is checked by the handler (a 400 naming `id`). */
export const collectionParamsSchema = z.object({ id: z.string().max(200) });

/** `GET /api/collections/{id}` (query): an earlier version of the definition (every version a job ran stays readable). */
export const collectionQuerySchema = z.object({ version: z.coerce.number().int().min(1).max(1_000_000_000).optional() }).strict();

/** `PUT /api/collections/{id}` headers: `If-Match: "<version>"` replaces that version; creating a collection needs none. */
export const collectionPutHeadersSchema = z.object({ 'If-Match': z.string().max(40).optional().describe('The version being replaced, as GET gave it in ETag ("3"); required to replace a definition') });
