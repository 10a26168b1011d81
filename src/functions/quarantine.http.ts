/**
 * HTTP API for quarantined jobs (issue 24, docs/collections.md#quality-gates-and-quarantine): an
 * operator approves a job a quality gate stopped (its kept outputs are published, linked to the
 * job) or rejects it (they are deleted). Thin: find the job, delegate to src/jobs, answer. `202`
 * with the decision's id; `409` when the job is not quarantined or was decided already (the
 * decision there is, in `decision`); `404` for an unknown job.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { QuarantineDecisionAnswer } from '../api/contract.js';
import { decideQuarantine, type QuarantineDecision } from '../jobs/quarantine.decision.js';
import { httpRoute } from './http.access.js';
import { guarded, problem } from './http.problem.js';
import { findJob, jobNotFound } from './jobs.http.js';

function decisionHandler(decision: QuarantineDecision) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const id = request.params['id'] ?? '';
    const client = df.getClient(context);
    const job = await findJob(client, id);
    if (!job) return jobNotFound(id);
    const result = await decideQuarantine(client, job, decision);
    switch (result.outcome) {
      case 'not-quarantined':
        return problem(409, 'Not quarantined', `The job is ${result.status === 'Completed' ? 'published' : result.status.toLowerCase()}; only a job a quality gate stopped is approved or rejected`, { outcome: 'not-quarantined' });
      case 'decided':
        return problem(409, 'Already decided', `The job was ${result.existing.decision === 'approve' ? 'approved' : 'rejected'} already (${result.existing.id}, ${result.existing.status})`, { outcome: 'decided', decision: result.existing.decision });
      case 'started':
        context.log(`Job ${id}: ${decision} (${result.id})`);
        return { status: 202, jsonBody: { id: result.id, jobId: id, decision } satisfies QuarantineDecisionAnswer };
    }
  };
}

// Roles (src/api/access.ts): deciding a quarantined job is an operator's work.
httpRoute('approveJob', { route: 'jobs/{id}/approve', methods: ['POST'], extraInputs: [df.input.durableClient()], handler: guarded(decisionHandler('approve')) });
httpRoute('rejectJob', { route: 'jobs/{id}/reject', methods: ['POST'], extraInputs: [df.input.durableClient()], handler: guarded(decisionHandler('reject')) });
