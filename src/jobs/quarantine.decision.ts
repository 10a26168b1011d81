/**
 * Deciding a quarantined job (issue 24): an operator approves it (its kept outputs are published)
 * or rejects it (they are deleted). The decision is a `resolveQuarantine` orchestration whose id
 * is the job's with `-decision`: Durable holds it, a job is decided once (a second request finds
 * the first decision), and the job view reads it back.
 */
import type { DurableClient } from 'durable-functions';
import { isDerivedOutcome, orchestratorNames, type DerivedOutcome, type IngestInput, type IngestOutput, type ResolveQuarantineInput, type ResolveQuarantineOutput } from '../pipeline/contracts.js';
import { findInstance, type InstanceStatus } from './durable.instances.js';

export type QuarantineDecision = 'approve' | 'reject';

/** The decision's instance id for a quarantined job. */
export function quarantineDecisionId(jobId: string): string {
  return `${jobId}-decision`;
}

export interface DecisionState {
  decision: QuarantineDecision;
  id: string;
  status: string;
  /** An approval's derived products (1.6 on), once it completed: the job view shows them as a job's. */
  derived?: DerivedOutcome[];
}

function decisionOf(status: InstanceStatus): DecisionState | null {
  const input = status.input as Partial<ResolveQuarantineInput> | undefined;
  const decision = input?.decision;
  if (decision !== 'approve' && decision !== 'reject') return null;
  const derived = (status.output as Partial<ResolveQuarantineOutput> | undefined)?.derived;
  return { decision, id: status.instanceId, status: status.runtimeStatus, ...(Array.isArray(derived) && derived.every(isDerivedOutcome) ? { derived } : {}) };
}

export async function readQuarantineDecision(client: DurableClient, jobId: string): Promise<DecisionState | null> {
  const status = await findInstance(client, quarantineDecisionId(jobId));
  return status && status.name === orchestratorNames.resolveQuarantine ? decisionOf(status) : null;
}

export type DecideResult =
  | { outcome: 'started'; id: string }
  /** Already decided (this decision or the other): the decision there is. */
  | { outcome: 'decided'; existing: DecisionState }
  | { outcome: 'not-quarantined'; status: string };

function quarantinedOutput(job: InstanceStatus): (IngestOutput & Required<Pick<IngestOutput, 'quarantine' | 'publication'>>) | undefined {
  const output = job.output as IngestOutput | undefined;
  return job.runtimeStatus === 'Completed' && output?.quarantine && output.publication ? (output as IngestOutput & Required<Pick<IngestOutput, 'quarantine' | 'publication'>>) : undefined;
}

/** Starts the decision on a quarantined job (`job`: its instance status, read by the caller). */
export async function decideQuarantine(client: DurableClient, job: InstanceStatus, decision: QuarantineDecision): Promise<DecideResult> {
  const output = quarantinedOutput(job);
  if (!output) return { outcome: 'not-quarantined', status: job.runtimeStatus };
  const existing = await readQuarantineDecision(client, job.instanceId);
  if (existing) return { outcome: 'decided', existing };
  const input = job.input as IngestInput;
  const id = quarantineDecisionId(job.instanceId);
  const run: ResolveQuarantineInput = { jobId: job.instanceId, decision, collection: input.collection, publication: output.publication, index: { key: input.index.key }, definitionVersion: output.quarantine.definitionVersion };
  try {
    await client.startNew(orchestratorNames.resolveQuarantine, { instanceId: id, input: run });
  } catch (error) {
    // Two operators at once: the first decision stands.
    const raced = await readQuarantineDecision(client, job.instanceId);
    if (raced) return { outcome: 'decided', existing: raced };
    throw error;
  }
  return { outcome: 'started', id };
}
