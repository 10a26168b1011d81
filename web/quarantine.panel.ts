/**
 * A quarantined job on its page (issue 24): each quality gate it failed, with the measured value
 * and the limit, and Approve (publish the outputs it kept unpublished) or Reject (delete them),
 * each confirmed first; then the decision and how it ran.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { ApiError, decideQuarantine } from './api.client.js';
import type { JobView } from '../src/api/contract.js';

/** Whether the job's page should keep polling: running, or quarantined with a decision still running. */
export function isSettled(job: JobView, finished: (status: string) => boolean): boolean {
  const decision = job.quarantine?.decision;
  return finished(job.status) && (!decision || decision.status === 'Completed' || decision.status === 'Failed' || decision.status === 'Terminated');
}

export function QuarantinePanel({ job, onDecided }: { job: JobView; onDecided: () => void }) {
  const [busy, setBusy] = useState<'approve' | 'reject' | null>(null);
  const [confirming, setConfirming] = useState<'approve' | 'reject' | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const quarantine = job.quarantine;
  if (!quarantine) return null;
  const decide = async (decision: 'approve' | 'reject'): Promise<void> => {
    setBusy(decision);
    setConfirming(null);
    try {
      await decideQuarantine(job.id, decision);
      setRefusal(null);
      onDecided();
    } catch (error) {
      setRefusal(error instanceof ApiError ? error.message : 'The decision could not be sent');
    } finally {
      setBusy(null);
    }
  };
  const { decision } = quarantine;
  return html`
    <section class="quarantine" aria-labelledby="quarantine-heading">
      <h2 id="quarantine-heading">Quarantined by a quality gate</h2>
      <p>Definition version ${quarantine.definitionVersion} of collection <strong>${job.collection ?? '–'}</strong> stopped this source before publishing. Its COGs and items are kept, unpublished.</p>
      <table class="quarantine-violations">
        <thead><tr><th scope="col">Rule</th><th scope="col">Measured</th><th scope="col">Allowed</th><th scope="col">Why</th></tr></thead>
        <tbody>
          ${quarantine.violations.map((violation) => html`<tr><td><code>${violation.rule}</code></td><td>${violation.measured}</td><td>${violation.limit}</td><td>${violation.message}</td></tr>`)}
        </tbody>
      </table>
      ${decision
        ? html`<p class="quarantine-decision" role="status">${decision.decision === 'approve' ? 'Approved' : 'Rejected'}: ${decision.status === 'Completed' ? (decision.decision === 'approve' ? 'its outputs are published.' : 'its outputs are deleted.') : `running (${decision.status}).`}</p>`
        : confirming
          ? html`<div class="quarantine-confirm" role="group" aria-label="Confirm">
              <p>${confirming === 'approve' ? 'Publish the kept outputs in the collection?' : 'Delete the kept COGs and items? This cannot be undone.'}</p>
              <button type="button" class="primary" onClick=${() => void decide(confirming)}>${confirming === 'approve' ? 'Yes, publish' : 'Yes, delete'}</button>
              <button type="button" onClick=${() => setConfirming(null)}>Cancel</button>
            </div>`
          : html`<p>
              <button type="button" class="primary" disabled=${busy !== null} onClick=${() => setConfirming('approve')}>Approve</button>
              <button type="button" disabled=${busy !== null} onClick=${() => setConfirming('reject')}>Reject</button>
            </p>`}
      ${refusal ? html`<p class="error" role="alert">Not decided: ${refusal}</p>` : null}
    </section>
  `;
}
